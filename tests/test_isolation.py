"""The sandbox gives the same verdicts wherever it runs: without bubblewrap, with Python under a
folder student uids may not enter, in a container that refuses namespaces or caps memory; and
no student process outlives grading, whatever it does to itself."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import mutated, solution

from grader.sandbox import isolation
from grader.sandbox.client import Limits, StudentProcess, Zygote
from grader.sandbox.inside import confine, reach

FAST = Limits(call_seconds=5, import_seconds=10, memory_bytes=256 << 20)
as_root = pytest.mark.skipif(os.getuid() != 0, reason="only root can hand out fresh uids")


# --- Python under a folder a student uid may not enter ----------------------------------------


def _import_as_fresh_uid(closed: Path, lib: Path, reroute: bool) -> subprocess.CompletedProcess:
    """A root process that opens the way in, drops to a fresh uid, then imports lazily."""
    code = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(isolation.INSIDE)!r})
        import reach
        ways_in = reach.open_walled_off([{str(closed / "python")!r}])
        sys.path.insert(0, {str(lib)!r})
        uid = {confine.UID_BASE + 12345}
        os.setgroups([]); os.setresgid(uid, uid, uid); os.setresuid(uid, uid, uid)
        if {reroute!r}:
            reach.reroute(ways_in)
        import ninja_lazy_module
        print(ninja_lazy_module.VALUE, ninja_lazy_module.__file__)
        """
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60, cwd="/"
    )


@as_root
def test_a_fresh_uid_imports_a_module_that_lies_behind_a_closed_folder(tmp_path) -> None:
    closed = tmp_path / "closed"
    lib = closed / "python" / "lib"
    lib.mkdir(parents=True)
    (lib / "ninja_lazy_module.py").write_text("VALUE = 42\n")
    closed.chmod(0o700)
    for folder in (closed / "python", lib):
        folder.chmod(0o755)
    assert reach.walled_off(str(closed / "python"))
    blocked = _import_as_fresh_uid(closed, lib, reroute=False)
    assert blocked.returncode != 0 and "ModuleNotFoundError" in blocked.stderr
    done = _import_as_fresh_uid(closed, lib, reroute=True)
    assert done.returncode == 0, done.stderr
    value, file = done.stdout.split()
    assert value == "42" and file.startswith(reach.PROC_FD + "/")


def test_a_module_of_a_withheld_installation_is_found_package_by_package(tmp_path) -> None:
    """What the grader looks for before it tells a student an import was not their mistake:
    the module itself, under the withheld installation's import path, not just its package."""
    from grader.sandbox import client

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "lazy.py").write_text("")
    paths = [str(tmp_path)]
    assert client._findable("pkg", paths) and client._findable("pkg.lazy", paths)
    assert not client._findable("pkg.nope", paths) and not client._findable("nope", paths)
    assert not client._findable("pkg.lazy.deeper", paths)


def test_aliases_go_through_the_descriptor_of_the_longest_matching_root() -> None:
    fds = {"/opt/py": 7, "/opt/py/venv": 9}
    assert reach.alias("/opt/py/lib/os.py", fds) == "/proc/self/fd/7/lib/os.py"
    assert reach.alias("/opt/py/venv/lib", fds) == "/proc/self/fd/9/lib"
    assert reach.alias("/opt/py", fds) == "/proc/self/fd/7"
    assert reach.alias("/opt/python3/x", fds) == "/opt/python3/x"
    assert reach.alias("/usr/lib", {}) == "/usr/lib"


# A student process that reads what a closed folder kept from it, through the runtime's way in.
_WAY_OUT = textwrap.dedent(
    '''
    import json
    from grader.sandbox import isolation
    from grader.sandbox.client import Limits, Zygote

    PROBE = """
    def peek():
        found = []
        for fd in range(3, 16):
            try:
                with open(f'/proc/self/fd/{fd}/../../backprop_ninja/hidden.py') as f:
                    found.append(f.read()[:40])
            except OSError:
                pass
        raise RuntimeError(repr(found))
    """
    iso = isolation.detect(allow_bubblewrap=False)
    zygote = Zygote(Limits(call_seconds=10), iso, landlock=False)
    process = zygote.spawn()
    assert process.load('probe', PROBE).ok
    print(json.dumps(process.call('probe', 'peek', {}, []).message.splitlines()[-1]))
    process.kill()
    zygote.close()
    '''
)


@as_root
def test_without_landlock_no_way_in_is_a_way_out_to_the_grader(tmp_path) -> None:
    """A descriptor on a folder is a way out of it too (`/proc/self/fd/N/..`): a red team read
    the hidden cases of a checkout under a closed folder (mode 0700) through the descriptor
    reach.py opened on the sandbox runtime inside it, with Landlock absent. Now a root whose way
    out reaches the grader's package or checkout gets no descriptor there."""
    closed = tmp_path / "closed"
    checkout = closed / "checkout"
    checkout.mkdir(parents=True)
    source = isolation.GRADER_PACKAGE.parent
    shutil.copytree(source / "grader", checkout / "grader")
    shutil.copy(source / "pyproject.toml", checkout / "pyproject.toml")
    closed.chmod(0o700)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(checkout)}
    run = subprocess.run(
        [sys.executable, "-c", _WAY_OUT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd="/",  # not the checkout this test runs from: the copy's grader is the one imported
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.strip().endswith('RuntimeError: []"'), run.stdout[-2000:]


def _venv_in(folder: Path) -> tuple[Path, Path]:
    """A virtual environment at `folder` that imports torch and this grader, as a TA's
    `.venv` beside the course's files would (its own site-packages hold a way to ours): its
    Python and its own site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    ours = sysconfig.get_paths()["purelib"]
    theirs = subprocess.run(
        [
            str(folder / "bin" / "python"),
            "-c",
            "import sysconfig as s; print(s.get_paths()['purelib'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(theirs, "ours.pth").write_text(ours + "\n")
    return folder / "bin" / "python", Path(theirs)


# A batch graded without Landlock, whose grading reads its folder of uploads `sys.argv[1]`.
_BATCH_WITHOUT_LANDLOCK = textwrap.dedent(
    """
    import functools, sys
    from pathlib import Path
    from grader import pipeline
    from grader.batch import grade_batch
    from grader.sandbox import isolation
    from grader.sandbox.client import Zygote

    iso = isolation.detect(allow_bubblewrap=False)
    pipeline.Zygote = functools.partial(Zygote, iso=iso, landlock=False)
    course = Path(sys.argv[1])
    grade_batch(course / "uploads", course / "out", public_only=True, progress=False)
    """
)


def _grade_without_landlock(python: Path, course: Path) -> dict[str, str]:
    """Grade `course`/uploads into `course`/out with `python`, as root without Landlock; each
    submission's result.json, as text."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(isolation.GRADER_PACKAGE.parent)}
    run = subprocess.run(
        [str(python), "-c", _BATCH_WITHOUT_LANDLOCK, str(course)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd="/",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return {p.parent.name: p.read_text() for p in (course / "out").glob("*/result.json")}


_NEIGHBOUR = textwrap.dedent(
    """
    import os

    found = []
    for _fd in range(3, 20):
        try:
            with open(f"/proc/self/fd/{_fd}/../uploads/bob/exercise1.py") as _file:
                found.append(_file.read())
        except OSError:
            pass
        try:
            found.append(os.listdir(f"/proc/self/fd/{_fd}/../out"))
        except OSError:
            pass
    raise RuntimeError(repr(found))
    """
)


@as_root
def test_without_landlock_no_way_in_is_a_way_out_to_other_students_uploads(tmp_path) -> None:
    """A red team's layout: a closed folder (mode 0700) holding an open one with the `.venv`,
    the uploads and the results beside it, the grader elsewhere. Through the descriptor on the
    `.venv` (`..`), a student's file read another student's upload into its own report. The
    batch's uploads and results are kept out of every way in now, as the grader's files are."""
    closed = tmp_path / "closed"
    course = closed / "course"
    for name in ("alice", "bob"):
        (course / "uploads" / name).mkdir(parents=True)
    python, _ = _venv_in(course / ".venv")
    (course / "uploads" / "alice" / "exercise1.py").write_text(_NEIGHBOUR)
    (course / "uploads" / "bob" / "exercise1.py").write_text("# BOB'S OWN WORK\n")
    closed.chmod(0o700)
    alice = _grade_without_landlock(python, course)["alice"]
    assert "RuntimeError: []" in alice, [ln for ln in alice.splitlines() if "Error" in ln][:3]
    assert "BOB'S OWN WORK" not in alice


@as_root
def test_an_import_the_layout_withheld_is_named_to_the_ta_not_blamed_on_the_student(tmp_path):
    """The same layout: the `.venv` gets no way in (its way out leads to the uploads), so a
    module of it that the sandbox had not loaded at its start cannot be imported. The student
    was told "which the grader does not have" and the TA nothing; now the result's isolation
    notes name the installation and the fix, and the student is not blamed."""
    closed = tmp_path / "closed"
    course = closed / "course"
    (course / "uploads" / "alice").mkdir(parents=True)
    python, site = _venv_in(course / ".venv")
    (site / "ninja_lazy_module.py").write_text("VALUE = 1.0\n")
    lazy = mutated(
        "exercise1",
        "    dlogprobs = torch.zeros_like(logprobs)\n",
        "    import ninja_lazy_module\n\n"
        "    dlogprobs = torch.zeros_like(logprobs) * ninja_lazy_module.VALUE\n",
    )
    (course / "uploads" / "alice" / "exercise1.py").write_text(lazy)
    closed.chmod(0o700)
    text = _grade_without_landlock(python, course)["alice"]
    result = json.loads(text)
    assert "No module named 'ninja_lazy_module'" in text  # the layout did withhold it
    assert "which the grader does not have" not in text
    assert "this is not a mistake in your code" in text
    venv, closed_ = os.path.realpath(course / ".venv"), os.path.realpath(closed)
    named = [n for n in result["isolation"]["notes"] if f"cannot import from {venv}:" in n]
    assert named and f"out of {closed_}, or grade with bubblewrap" in named[0], named
    # The zygote, told the uploads by identity only, said which by its place: named here.
    uploads = os.path.realpath(course / "uploads")
    assert f"would also lead to {uploads}, which" in named[0], named


def test_a_kept_out_folder_is_told_by_identity_and_met_as_paths_meet(tmp_path) -> None:
    """inside/reach.py is told the folders to keep out by (device, inode), never by name (a
    student process reads whatever the zygote holds), and finds a way out meeting one exactly
    where the paths would meet: the same folder, one inside the other, but not side by side;
    a folder not made yet is met by those above it."""
    for folder in ("a/b/c", "a/d", "e"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "a" / "b")
    kept_paths = [str(tmp_path / "a" / "b"), str(tmp_path / "a" / "x" / "y")]
    told = isolation.kept_identities(kept_paths)
    assert str(tmp_path) not in json.dumps(told)
    kept = reach.kept(json.loads(json.dumps(told)))  # as the zygote reads its configuration
    for region in ("a", "a/b", "a/b/c", "a/d", "e", "link", "link/c", "."):
        path = str(tmp_path / region)
        for keep, kept_path in zip(kept, kept_paths, strict=True):
            assert reach.reaches(path, keep) == reach.overlap(path, kept_path), (region, kept_path)
    assert reach.kept([{"is": "x"}, 3, {"in": [[1, 2], "y"]}]) == [
        reach.Kept(None, frozenset()),
        reach.Kept(None, frozenset()),
        reach.Kept(None, frozenset({(1, 2)})),
    ]


def test_an_open_path_is_not_walled_off(tmp_path) -> None:
    open_ = tmp_path / "open"
    open_.mkdir()
    tmp_path.chmod(0o755)
    assert not reach.walled_off("/usr/lib")
    assert reach.walled_off(str(open_)) == any(
        not os.stat(p).st_mode & 0o001 for p in open_.parents
    )


def _statistics_inside_a_function() -> dict[str, bytes]:
    """A correct submission that imports a module no one has loaded yet, inside a function."""
    lazy = mutated(
        "exercise1",
        "    dlogprobs = torch.zeros_like(logprobs)\n",
        "    import statistics\n\n"
        "    dlogprobs = torch.zeros_like(logprobs) * statistics.fmean([1.0])\n",
    )
    files = {
        "exercise1": lazy,
        "exercise2": solution("exercise2"),
        "exercise3": solution("exercise3"),
    }
    return {n: s.encode() for n, s in files.items()}


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_a_lazy_standard_import_scores_full_marks_with_and_without_bubblewrap(bubblewrap) -> None:
    """Graded as root without bubblewrap, with Python under /root (pyenv) or the checkout under
    a mode-0700 folder, the fresh uid once could not read the module (50 instead of 100)."""
    from grader.pipeline import Grader
    from grader.submissions import Submission

    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    g = Grader(limits=FAST, public_only=True, zygote=Zygote(FAST, iso))
    try:
        result = g.grade(Submission("lazy", _statistics_inside_a_function())).to_json()
    finally:
        g.close()
    failed = {i["id"]: i.get("message", "") for i in result["items"] if i["status"] != "passed"}
    assert result["score"] == result["max_score"], failed
    assert not any("cannot read" in n for n in result["isolation"]["notes"])


# --- no student process outlives grading --------------------------------------------------------

CLEAR_DEATH_SIGNAL = textwrap.dedent(
    """
    import ctypes
    import os
    import signal
    import time

    import torch

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    CLEARED = ctypes.CDLL(None).prctl(1, 0, 0, 0, 0) == 0  # PR_SET_PDEATHSIG: none

    def cleared():
        return torch.tensor(int(CLEARED))

    def spin():
        while True:
            time.sleep(0.01)
    """
)
# The audit hook is off in all of them: it refuses the ctypes call that clears the death signal,
# and what is tested here is what the kernel and the grader do when that call gets through.
ORPHANS = {
    "no_bubblewrap": dict(bubblewrap=False, audit_hook=False),
    "no_bubblewrap_no_seccomp": dict(bubblewrap=False, seccomp=False, audit_hook=False),
    "bubblewrap_no_seccomp": dict(bubblewrap=True, seccomp=False, audit_hook=False),
}


class Watch:
    """Whether a student process still runs, seen from outside: its uid (root) or a pidfd."""

    def __init__(self, zygote: Zygote, process) -> None:
        self.uid = process.layers.get("uid") if process.layers.get("dropped_to_fresh_uid") else None
        self.pidfd = None if zygote.iso.bubblewrap else os.pidfd_open(process.pid)
        if self.uid is None and self.pidfd is None:
            pytest.skip("not root and inside bubblewrap: no way to see the process from here")

    def dead_within(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not self.running():
                return True
            time.sleep(0.05)
        return False

    def running(self) -> bool:
        if self.pidfd is not None:
            return not select.select([self.pidfd], [], [], 0)[0]
        return any(_uid_and_state(p) == (self.uid, True) for p in Path("/proc").glob("[0-9]*"))


def _uid_and_state(proc: Path) -> tuple[int, bool] | None:
    try:
        status = (proc / "status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["Uid"].split()[0]), fields["State"].split()[0] not in ("Z", "X")


@pytest.mark.parametrize("config", ORPHANS, ids=list(ORPHANS))
def test_a_student_process_that_clears_its_death_signal_dies_with_the_grader(config) -> None:
    """Its zygote killed under it (as a crashing sibling once did), a student process that
    cleared PR_SET_PDEATHSIG and ignores SIGTERM still ends: the kernel kills it (seccomp keeps
    the death signal; bubblewrap's process namespace ends with the zygote) or the grader does
    (by pidfd, and by uid when root)."""
    options = dict(ORPHANS[config])
    iso = isolation.detect(allow_bubblewrap=options.pop("bubblewrap"))
    if ORPHANS[config]["bubblewrap"] and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    limits = Limits(call_seconds=1, import_seconds=10, memory_bytes=256 << 20)
    zygote = Zygote(limits, iso, **options)
    try:
        spinner, idler = zygote.spawn(), zygote.spawn()
        watches = []
        for process in (spinner, idler):
            assert process.load("m", CLEAR_DEATH_SIGNAL).ok
            cleared = process.call("m", "cleared", {}, []).value[0].item()
            assert cleared == int(not zygote.iso.seccomp.startswith("in force"))
            watches.append(Watch(zygote, process))
        zygote.proc.kill()
        zygote.proc.wait()
        kernel_kills = zygote.iso.bubblewrap or not cleared
        assert all(w.dead_within(10) for w in watches) == kernel_kills
        reply = spinner.call("m", "spin", {}, [])  # the grader's deadline, then its kill
        assert not reply.ok and watches[0].dead_within(10)
    finally:
        zygote.close()
    assert watches[1].dead_within(10), "a student process outlived its grader's sandbox"


@contextlib.contextmanager
def kernel_layers_only(bubblewrap: bool) -> Iterator[StudentProcess]:
    """A student process with Landlock in force and the audit hook off, to show what the kernel
    refuses on its own (skipped where bubblewrap or Landlock is not usable)."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    zygote = Zygote(FAST, iso, audit_hook=False)
    try:
        process = zygote.spawn()
        if not process.layers.get("landlock"):
            pytest.skip("Landlock is not in force here")
        yield process
    finally:
        zygote.close()


FORMULA_SOURCE = textwrap.dedent(
    """
    import os

    import torch

    ROOT = os.path.dirname(torch.__file__)


    def _size(opener):
        try:
            with opener() as f:
                return torch.tensor(len(f.read(100)))
        except PermissionError:
            return torch.tensor(-1)


    def plain():
        return _size(lambda: open(os.path.join(ROOT, "_decomp", "decompositions.py")))


    def dotted():
        return _size(lambda: open(ROOT + "/./_decomp//decompositions.py"))


    def by_descriptor():
        top = os.open(ROOT, os.O_RDONLY | os.O_DIRECTORY)
        fd = lambda: os.open("_decomp/decompositions.py", os.O_RDONLY, dir_fd=top)
        return _size(lambda: os.fdopen(fd()))


    def beside_them():
        return _size(lambda: open(os.path.join(ROOT, "functional.py")))


    def lazy_import():
        import torch.nn.utils.prune  # not imported by the zygote: found by listing torch/

        return torch.tensor(len(os.listdir(os.path.join(ROOT, "_decomp"))) > 0)
    """
)


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_torchs_backward_formulas_cannot_be_read_whatever_the_path(bubblewrap) -> None:
    """torch/_decomp's source is autograd's derivatives as text: the kernel (Landlock) refuses
    it to student processes by any path, with the audit hook off to show that alone; the rest
    of torch stays readable, and its folders listable for the imports that need it."""
    with kernel_layers_only(bubblewrap) as process:
        assert process.load("m", FORMULA_SOURCE).ok
        sizes = {
            name: process.call("m", name, {}, []).value[0].item()
            for name in ("plain", "dotted", "by_descriptor", "beside_them", "lazy_import")
        }
    assert "warning" not in process.layers
    assert sizes == {
        "plain": -1,
        "dotted": -1,
        "by_descriptor": -1,
        "beside_them": 100,
        "lazy_import": 1,
    }


INSTALLED_SOURCE = textwrap.dedent(
    """
    import os

    import torch

    SITE = os.path.dirname(os.path.dirname(torch.__file__))


    def _size(*parts):
        try:
            with open(os.path.join(SITE, *parts), "rb") as f:
                return torch.tensor(len(f.read(100)))
        except PermissionError:
            return torch.tensor(-1)


    def sympy_source():
        return _size("sympy", "__init__.py")


    def pytest_source():
        return _size("_pytest", "python.py")


    def derivatives_yaml():
        return _size("torchgen", "packaged", "autograd", "derivatives.yaml")


    def torch_source():
        return _size("torch", "functional.py")


    def numpy_lazily():
        import numpy.polynomial  # not imported by the zygote: read from numpy/ now

        return torch.tensor(len(numpy.polynomial.__name__))
    """
)


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_installed_packages_beyond_torch_and_numpy_cannot_be_read(bubblewrap) -> None:
    """The grader's environment holds more than the contract promises student code: sympy
    (torch's dependency, which differentiates symbolically), pytest, Jinja2, and torchgen's
    derivatives.yaml, every operator's derivative as text. The kernel (Landlock; the audit hook
    off to show it alone) lets a student process read only the packages the zygote imported,
    and never that file; torch and numpy stay readable for their lazy imports."""
    with kernel_layers_only(bubblewrap) as process:
        assert process.load("m", INSTALLED_SOURCE).ok
        names = ("sympy_source", "pytest_source", "derivatives_yaml", "torch_source")
        sizes = {name: process.call("m", name, {}, []).value[0].item() for name in names}
        assert process.call("m", "numpy_lazily", {}, []).ok
    assert sizes == {
        "sympy_source": -1,
        "pytest_source": -1,
        "derivatives_yaml": -1,
        "torch_source": 100,
    }


def test_an_import_beyond_the_promised_packages_is_a_missing_module() -> None:
    """What Landlock refuses as a PermissionError on a file the student never named reaches
    them as the ModuleNotFoundError of a machine without the package, as their check says."""
    with kernel_layers_only(bubblewrap=False) as process:
        source = "import torch\n\ndef f():\n    import sympy\n    return torch.zeros(1)\n"
        assert process.load("m", source).ok
        reply = process.call("m", "f", {}, [])
    assert not reply.ok
    assert "ModuleNotFoundError: No module named 'sympy'" in reply.message


@pytest.mark.parametrize("where", ["module", "function"])
def test_a_module_the_zygote_loaded_beyond_the_promise_is_missing_to_student_files(where) -> None:
    """torch imports tqdm and typing_extensions where they are installed, so the zygote holds
    them in sys.modules, where no import finder is asked: student code imported them in the
    grader while the student's check refused them. Both now refuse them from the student's
    files (torch's own imports of them still pass), with the message of a missing module."""
    loaded = sorted({"tqdm", "typing_extensions"} & set(sys.modules))
    assert loaded, "torch loaded neither here: nothing to show"
    imports = "".join(f"    import {name}\n" for name in loaded)
    if where == "module":
        source = f"import torch\nif True:\n{imports}\ndef f():\n    return torch.zeros(1)\n"
    else:
        source = f"import torch\n\ndef f():\n{imports}    return torch.zeros(1)\n"
    with kernel_layers_only(bubblewrap=False) as process:
        loaded_file = process.load("m", source)
        if where == "module":
            assert not loaded_file.ok
            message = loaded_file.message
        else:
            assert loaded_file.ok, loaded_file.message
            message = process.call("m", "f", {}, []).message
        # code that is not a student file's (torch's, whose hub imports tqdm) still imports it
        body = f"    exec('import {loaded[0]}', {{}})\n    return torch.zeros(1)\n"
        theirs = f"import torch\n\ndef g():\n{body}"
        assert process.load("ok", theirs).ok
        assert process.call("ok", "g", {}, []).ok
    assert f"ModuleNotFoundError: No module named '{loaded[0]}'" in message


def test_numpy_testing_is_importable_though_it_reads_the_builds_configuration() -> None:
    """numpy.testing reads sysconfig's data as it is imported, a standard module whose name
    depends on the platform (`_sysconfigdata__linux_x86_64-linux-gnu`), which
    sys.stdlib_module_names does not list: PromisedImports refused it, and a student's
    `np.testing.assert_allclose` was a ModuleNotFoundError naming a module they never heard of."""
    with kernel_layers_only(bubblewrap=False) as process:
        source = textwrap.dedent(
            """
            import numpy as np
            import torch

            def f():
                np.testing.assert_allclose(np.ones(3), np.ones(3))
                return torch.zeros(1)
            """
        )
        assert process.load("m", source).ok
        reply = process.call("m", "f", {}, [])
    assert reply.ok, reply.message


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_a_student_process_creates_nothing_not_even_in_its_own_folder(bubblewrap) -> None:
    """What a process creates is seen by its siblings of the same submission as the /tmp's free
    files and bytes (a red team passed 13 bits from exercise 1 to exercise 2 with `mkdir`):
    the kernel (Landlock; the audit hook off to show it alone) lets a student process create
    no file and no folder, its own folder included."""
    with kernel_layers_only(bubblewrap) as process:
        tries = textwrap.dedent(
            """
            import os
            import torch

            def made():
                made = 0
                for make in (lambda: os.mkdir("d"), lambda: open("f", "w").close(),
                             lambda: os.mkfifo("p"), lambda: os.close(os.open("g", os.O_CREAT))):
                    try:
                        make()
                        made += 1
                    except PermissionError:
                        pass
                return torch.tensor(made)
            """
        )
        assert process.load("m", tries).ok
        assert process.call("m", "made", {}, []).value[0].item() == 0


OPEN_DESCRIPTORS = textwrap.dedent(
    """
    import os
    import torch

    def count():
        n = 0
        for fd in range(3, 4096):
            try:
                os.fstat(fd)
                n += 1
            except OSError:
                pass
        return torch.tensor(n)
    """
)


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_the_zygotes_landlock_rules_are_closed_before_student_code(bubblewrap) -> None:
    """The zygote opens the ~270 paths of the shared Landlock rules once (confine.Rules) and
    each child adds them to its own ruleset; the child closes those descriptors before the
    student's file is loaded, leaving only its socket (and, where Python lies behind a closed
    folder, the zygote's ways in to it: inside/reach.py)."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    zygote = Zygote(FAST, iso)
    try:
        process = zygote.spawn()
        if not process.layers.get("landlock"):
            pytest.skip("Landlock is not in force here")
        assert process.load("m", OPEN_DESCRIPTORS).ok
        assert process.call("m", "count", {}, []).value[0].item() <= 4
    finally:
        zygote.close()


def _opened_to_its_process(zygote: Zygote) -> Path:
    """The folder of the zygote's one student process, made writable to that process: as it
    may make it itself not as root, where the folder is its uid's and, with the audit hook,
    Landlock and seccomp off, it may chmod it open (as root the folder is root's: zygote.py)."""
    from grader.sandbox.inside.zygote import ROOT_PREFIX

    pid, root = zygote.proc.pid, Path("/")
    if zygote.iso.bubblewrap:  # the zygote is bubblewrap's child, its /tmp its own
        [child] = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        root = Path(f"/proc/{child}/root")
        pid = "*"
    [folder] = (root / "tmp").glob(f"{ROOT_PREFIX}{pid}-*/student-*")
    folder.chmod(0o777)
    return folder


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_a_3000_deep_folder_is_removed_and_the_zygote_lives_on(bubblewrap) -> None:
    """Where Landlock and seccomp are missing (each refuses mkdir, and so the audit hook's
    refusal is all there is) and the process may write its folder (not as root), a tree deeper
    than a path can name must still go with its process."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    zygote = Zygote(FAST, iso, landlock=False, seccomp=False, audit_hook=False)
    try:
        first = zygote.proc.pid
        process = zygote.spawn()
        _opened_to_its_process(zygote)
        deep = "import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        assert process.load("deep", deep).ok
        process.close()
        assert zygote.alive() and zygote.proc.pid == first
        assert zygote.status() == {"children": [], "folders": []}
    finally:
        zygote.close()


def test_a_kill_is_confirmed_before_the_student_s_folder_is_removed() -> None:
    """Removing what a student process left takes what the disk takes: 3,000 nested folders
    took 6 s on this machine's ext4, past the 10 s the grader waits for a kill's answer under
    load, and the grader then killed the zygote as hung (the test above failed so). The zygote
    answers once the process is dead and reaped, and removes the folder before it reads the next
    request: the folder is still there when the answer comes, and gone at the next one."""
    iso = isolation.detect(allow_bubblewrap=False)  # its folders lie in this machine's /tmp
    zygote = Zygote(FAST, iso, landlock=False, seccomp=False, audit_hook=False)
    try:
        process = zygote.spawn()
        # The zygote's environment has no TMPDIR: its folders are made in /tmp.
        folder = _opened_to_its_process(zygote)
        deep = "import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"
        assert process.load("deep", deep).ok
        process.close()
        assert folder.is_dir(), "the kill was confirmed only once the folder had gone"
        assert zygote.status() == {"children": [], "folders": []}
        assert not folder.exists() and zygote.alive()
    finally:
        zygote.close()


def test_cleanup_removes_deep_wide_closed_and_linked_trees(tmp_path) -> None:
    from grader.sandbox.inside import cleanup

    top = tmp_path / "top"
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(3000):  # deeper than PATH_MAX allows to name in one path
        os.mkdir("d", dir_fd=fd)
        fd, parent = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd), fd
        os.close(parent)
    os.close(fd)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("not the student's")
    (top / "link").symlink_to(outside)
    for i in range(50):
        (top / f"f{i}").write_text("x")
    closed = top / "closed"
    (closed / "inner").mkdir(parents=True)
    closed.chmod(0)
    cleanup.remove(str(top))
    assert not top.exists() and (outside / "keep").exists()


def test_cleanup_removes_a_folder_its_owner_may_not_read(tmp_path, monkeypatch) -> None:
    """A student process's folder is one it may enter but not list (mode 0111: zygote.py); not
    as root, its owner is the zygote's uid, which may not open it for reading either (root's
    override stands in for that refusal here)."""
    from grader.sandbox.inside import cleanup

    top = tmp_path / "student-x"
    top.mkdir()
    (top / "left").write_text("x")  # as where neither Landlock nor seccomp is in force
    top.chmod(0o111)
    real_open = os.open

    def open_as_its_owner(path, flags, *args, **kwargs):
        if flags & os.O_DIRECTORY and not os.stat(path, **kwargs).st_mode & 0o400:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(cleanup.os, "open", open_as_its_owner)
    cleanup.remove(str(top))
    assert not top.exists()


def test_cleanup_never_opens_up_what_a_link_swapped_in_points_at(tmp_path, monkeypatch) -> None:
    """A closed folder is chmod-ed open before it is emptied; if its name has become a link by
    then (a process of its uid racing the cleanup), the link's target keeps its mode."""
    from grader.sandbox.inside import cleanup

    target = tmp_path / "someone-elses"
    target.mkdir(mode=0o500)
    top = tmp_path / "top"
    top.mkdir()
    (top / "closed").symlink_to(target)  # what the lstat saw as a folder, swapped since
    real_open, refused = os.open, []

    def open_refusing_once(path, flags, *args, **kwargs):
        if path == "closed" and not refused:
            refused.append(path)
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(cleanup.os, "open", open_refusing_once)
    fd = real_open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError):
            cleanup._open_folder(fd, "closed")
    finally:
        os.close(fd)
    assert refused and stat.S_IMODE(target.stat().st_mode) == 0o500


# --- every note gives advice that is true where it is shown ----------------------------------


def _fake_bwrap(folder: Path, says: str) -> None:
    """A bwrap that fails the way containers make it fail."""
    exe = folder / "bwrap"
    exe.write_text(f"#!/bin/sh\necho 'bwrap: {says}' >&2\nexit 1\n")
    exe.chmod(0o755)


@pytest.mark.parametrize(
    "says",
    ["Creating new namespace failed: Operation not permitted", "Failed to make / slave: Invalid"],
)
def test_a_refused_bubblewrap_is_reported_as_refused_not_as_missing(says, tmp_path, monkeypatch):
    _fake_bwrap(tmp_path, says)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    why_not = isolation._why_no_bubblewrap()
    assert why_not == f"bwrap: {says}"
    iso = isolation.Isolation(
        bubblewrap=False, network="", filesystem="", user="", without_bubblewrap=why_not
    )
    iso.observe({"landlock": "ABI 4", "seccomp": "35 denied", "dropped_to_fresh_uid": True}, "")
    note = iso.notes[0]
    assert "installed but this machine refuses it" in note and says in note
    assert "fresh uids, Landlock, seccomp, resource limits carry the sandbox" in note
    assert not any("install" in n.replace("installed", "") for n in iso.notes)


def test_an_uncapped_tmp_says_why():
    """Not root, the cap needs root; as root, bubblewrap must keep CAP_SYS_ADMIN for it (a
    checkout under /tmp no longer stops it: tests/test_tmpfs.py)."""
    assert "needs the grader to run as root" in isolation._tmp_report(True, False, False)
    assert "could not keep CAP_SYS_ADMIN" in isolation._tmp_report(True, False, True)
    assert "and 8192 files" in isolation._tmp_report(True, True, True)


def test_a_missing_bubblewrap_is_reported_with_the_package_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap anywhere
    assert isolation._why_no_bubblewrap() == "missing"
    iso = isolation.Isolation(
        bubblewrap=False, network="", filesystem="", user="", without_bubblewrap="missing"
    )
    iso.observe({"landlock_error": "Landlock is not available in this kernel"}, "")
    assert "install the 'bubblewrap' package" in iso.notes[0]
    assert "resource limits carry the sandbox" in iso.notes[0]
    assert isolation.MISSING["files"] in iso.notes and isolation.MISSING["network"] in iso.notes


@pytest.mark.parametrize(
    "ways_in, hide, reason",
    [
        ({}, OSError(1, "Operation not permitted"), "this machine refused the user namespace"),
        ({"/root/.pyenv": 5}, None, "lies behind a folder closed to student uids (/root/.pyenv)"),
    ],
    ids=["namespace refused", "python walled off"],
)
def test_a_proc_left_as_it_is_is_said_with_its_reason(ways_in, hide, reason, monkeypatch):
    """Where a student process keeps the machine's /proc (Docker's default seccomp profile
    refuses the user namespace that empties it; a Python behind a folder closed to student
    uids is reached through /proc/self/fd), the result said only that the namespace was
    refused, even where it was not: a TA could not tell what to change. It names the reason."""
    zygote = _zygote_module()

    def refused(before: int) -> None:
        raise hide

    monkeypatch.setattr(zygote.confine, "hide_processes", refused)
    why = zygote._hide_others(ways_in)
    assert reason in why
    iso = isolation.Isolation(bubblewrap=False, network="", filesystem="", user="")
    iso.observe({"landlock": "ABI 7", "seccomp": "on", "proc_empty": False, "proc_error": why}, "")
    assert isolation.MISSING["exchange"] in iso.notes
    assert f"/proc is not emptied for student processes here: {why}" in iso.notes
    # Landlock and seccomp are in force: no note may read as if either were missing (the
    # Gradescope root file system's results.json said "(no Landlock)" and "(no seccomp)").
    assert not any("no Landlock" in n or "no seccomp" in n for n in iso.notes), iso.notes


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_no_note_asks_to_install_what_is_installed(bubblewrap) -> None:
    zygote = Zygote(FAST, isolation.detect(allow_bubblewrap=bubblewrap))
    try:
        notes = zygote.iso.to_json()["notes"]
    finally:
        zygote.close()
    installs = [n for n in notes if "install the" in n]
    if zygote.iso.bubblewrap:
        assert notes == [] or not installs, notes
    else:
        assert notes[0].startswith("bubblewrap is not usable here")
        missing = isolation.shutil.which("bwrap") is None
        assert bool(installs) == (missing and bubblewrap), notes  # not when switched off


# --- a container's memory limit: the sandbox refuses first ---------------------------------------

MiB = 1 << 20


def _cgroup_files(tmp_path: Path, own: str, files: dict[str, str]) -> tuple[str, str]:
    """A fake /sys/fs/cgroup tree and /proc/self/cgroup."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text + "\n")
    (tmp_path / "own").write_text(own)
    return str(root), str(tmp_path / "own")


def test_gradescope_768_mb_leaves_no_room_for_a_700_mb_allocation(tmp_path) -> None:
    from grader.sandbox.memory import container_memory

    root, own = _cgroup_files(
        tmp_path, "0::/\n", {"memory.max": str(768 * MiB), "memory.current": str(450 * MiB)}
    )
    cgroup = container_memory(root, own)
    assert (cgroup.limit, cgroup.usage) == (768 * MiB, 450 * MiB)
    assert cgroup.room() == (768 - 450 - 96) * MiB
    assert cgroup.room() < 700 * MiB


def test_inactive_page_cache_is_not_counted_as_used(tmp_path) -> None:
    """Usage counts the page cache of every file the container read (torch's libraries, a
    batch's earlier uploads), which the kernel reclaims before any OOM kill: a container whose
    cache had filled gave every new student process the 32 MiB floor (red team). The inactive
    file pages come off; active ones and a malformed memory.stat count as used."""
    from grader.sandbox.memory import FLOOR, container_memory

    stat = "anon 300000000\nfile 400000000\nactive_file 50000000\ninactive_file 350000000"
    files = {"memory.max": str(768 * MiB), "memory.current": "700000000", "memory.stat": stat}
    root, own = _cgroup_files(tmp_path, "0::/\n", files)
    assert container_memory(root, own).usage == 350_000_000
    assert container_memory(root, own).room() == 768 * MiB - 350_000_000 - 96 * MiB
    root, own = _cgroup_files(tmp_path, "0::/\n", dict(files, **{"memory.stat": "inactive_file x"}))
    assert container_memory(root, own).room() == FLOOR
    v1 = {  # v1's usage counts the descendants' pages too: their total is the one to take off
        "memory/memory.limit_in_bytes": str(768 * MiB),
        "memory/memory.usage_in_bytes": "700000000",
        "memory/memory.stat": "inactive_file 1000\ntotal_inactive_file 350000000",
    }
    root, own = _cgroup_files(tmp_path, "4:memory:/docker/abc\n", v1)
    assert container_memory(root, own).usage == 350_000_000
    stale = {"memory.max": str(768 * MiB), "memory.current": "100", "memory.stat": stat}
    root, own = _cgroup_files(tmp_path, "0::/\n", stale)  # counts read at different instants
    assert container_memory(root, own).usage == 0


def test_the_tightest_limit_of_the_cgroup_and_its_ancestors_counts(tmp_path) -> None:
    from grader.sandbox.memory import FLOOR, container_memory

    files = {
        "memory.max": "max",
        "a/memory.max": str(2048 * MiB),
        "a/memory.current": str(100 * MiB),
        "a/b/memory.max": "max",
        "a/b/memory.current": str(90 * MiB),
    }
    root, own = _cgroup_files(tmp_path, "0::/a/b\n", files)
    assert container_memory(root, own).limit == 2048 * MiB
    root, own = _cgroup_files(tmp_path, "0::/\n", {"memory.max": "max"})
    assert container_memory(root, own) is None
    root, own = _cgroup_files(
        tmp_path, "0::/\n", {"memory.max": str(300 * MiB), "memory.current": str(290 * MiB)}
    )
    assert container_memory(root, own).room() == FLOOR


def test_cgroup_v1_limits_are_read_and_unlimited_is_no_limit(tmp_path) -> None:
    from grader.sandbox.memory import container_memory

    own = "4:memory:/docker/abc\n3:cpu:/\n0::/\n"
    files = {  # inside the container, the memory mount is the container's own cgroup
        "memory/memory.limit_in_bytes": str(768 * MiB),
        "memory/memory.usage_in_bytes": str(500 * MiB),
    }
    root, own_file = _cgroup_files(tmp_path, own, files)
    assert container_memory(root, own_file).limit == 768 * MiB
    files["memory/memory.limit_in_bytes"] = "9223372036854771712"
    root, own_file = _cgroup_files(tmp_path, own, files)
    assert container_memory(root, own_file) is None


def test_the_container_s_room_is_split_between_the_student_processes_alive_at_once() -> None:
    """Each student process was given all that the container had left, and a batch keeps
    several alive (a process per exercise file, two submissions at once with -j 2): together
    they drove a 768 MB container to its OOM killer, which took an honest student's process
    (three files of one student each held 140 MB; the other's exercise 3, 150 MB, was
    killed). Split evenly, together they fit in what was left; never below the floor."""
    from grader.sandbox.memory import FLOOR, Cgroup

    cgroup = Cgroup(768 * MiB, 450 * MiB)
    left = (768 - 450 - 96) * MiB
    assert cgroup.room() == left
    assert cgroup.room(6) == left // 6 and 6 * cgroup.room(6) <= left
    limits = Limits(processes_at_once=6)
    assert limits.headroom(cgroup) == left // 6
    assert limits.headroom(None) == limits.memory_bytes  # no container limit: nothing to split
    assert Cgroup(768 * MiB, 450 * MiB).room(64) == FLOOR  # the floor, whatever the split


def test_the_grader_counts_the_assignment_s_files_and_the_gradings_at_once() -> None:
    """The processes alive at once come from the assignment's data (one per file it names),
    times the gradings a batch runs at once, never from a constant."""
    from grader.assignment import load
    from grader.pipeline import Grader

    grader = Grader(public_only=True, eager_sandbox=False)
    try:
        files = len(load().files)
        assert grader.limits.processes_at_once == files
        grader.grading_at_once(2)
        assert grader.limits.processes_at_once == 2 * files
        grader.grading_at_once(1)
        assert grader.limits.processes_at_once == files
    finally:
        grader.close()


def test_the_note_says_the_split_and_when_the_floor_undoes_it() -> None:
    from grader.sandbox.client import _memory_note
    from grader.sandbox.memory import Cgroup

    note = _memory_note(Cgroup(768 * MiB, 450 * MiB), Limits(processes_at_once=6))
    assert "split between the 6 student processes that can run at once (37 MiB" in note
    assert note.endswith("together they fit in what was left") and "below the" not in note
    floor = _memory_note(Cgroup(768 * MiB, 450 * MiB), Limits(processes_at_once=24))
    assert "(32 MiB" in floor and "together they may still reach the container's limit" in floor
    assert "fit in what was left" not in floor
    alone = _memory_note(Cgroup(768 * MiB, 450 * MiB), Limits())
    assert "split" not in alone and f"({768 - 450 - 96} MiB" in alone


def test_a_student_process_under_a_container_limit_is_refused_700_mb(monkeypatch) -> None:
    """The allocation is refused by the sandbox's own limit (an address-space limit: nothing is
    touched, so the test allocates nothing), and the result says why."""
    from grader.sandbox import client
    from grader.sandbox.memory import Cgroup

    limits = Limits(call_seconds=5, import_seconds=10, memory_bytes=1 << 30)
    monkeypatch.setattr(client, "container_memory", lambda: Cgroup(768 * MiB, 450 * MiB))
    zygote = Zygote(limits, isolation.detect(allow_bubblewrap=False))
    try:
        process = zygote.spawn()
        src = "import torch\ndef big():\n    return torch.empty(700 << 20, dtype=torch.uint8)[:1]\n"
        assert process.load("m", src).ok
        reply = process.call("m", "big", {}, [])
        assert not reply.ok and reply.kind == "error" and "allocate" in reply.message
        assert process.call("m", "big", {}, []).kind == "error", "the process survives it"
        process.close()
        assert zygote.iso.limits["memory_bytes_above_torch"] == (768 - 450 - 96) * MiB
        assert any("768 MiB" in n for n in zygote.iso.notes)
    finally:
        zygote.close()


@pytest.mark.skipif(not confine.LINUX, reason="the OOM killer's scores are Linux's")
def test_a_student_process_is_the_oom_killers_first_choice_and_stays_it() -> None:
    """In a container's memory cgroup the OOM killer takes the largest process: student
    processes that each stayed just under the grader's size made the grader the victim, and
    the grading ended with no result (red team). Every student process asks to be taken first
    (oom_score_adj 1000) and cannot take that back."""
    zygote = Zygote(FAST, isolation.detect(allow_bubblewrap=False))
    try:
        process = zygote.spawn()
        assert process.layers.get("oom_killer_first") is True
        adj = Path(f"/proc/{process.pid}/oom_score_adj")
        assert adj.read_text().strip() == "1000"
        # The zygote keeps the grader's own score (0 on a plain machine; a container's
        # orchestrator may set another for every process it starts).
        ours = Path("/proc/self/oom_score_adj").read_text()
        assert Path(f"/proc/{zygote.proc.pid}/oom_score_adj").read_text() == ours
        lower = (
            "import os\n"
            "def lower():\n"
            "    fd = os.open('/proc/self/oom_score_adj', os.O_WRONLY)\n"
            "    os.write(fd, b'0')\n"
        )
        assert process.load("m", lower).ok
        assert not process.call("m", "lower", {}, []).ok
        assert adj.read_text().strip() == "1000"
    finally:
        zygote.close()


# --- nothing is left for the machine's init to reap ----------------------------------------------

ADOPT_ORPHANS = textwrap.dedent(
    """
    import ctypes, json, os, sys
    from pathlib import Path
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come to us

    def adopted():
        names = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == os.getpid():
                names.append(stat[stat.index("(") + 1 : stat.rindex(")")])
        return names

    from grader.batch import grade_batch
    from grader.sandbox.client import Limits, Zygote
    Zygote(Limits()).close()
    seen = {"sandbox": adopted()}
    grade_batch(Path(sys.argv[1]), Path(sys.argv[2]), jobs=2, public_only=True, progress=False)
    seen["batch"] = adopted()
    print(json.dumps(seen))
    """
)


def test_no_sandbox_process_is_left_unreaped_after_a_sandbox_or_a_batch(tmp_path) -> None:
    """bubblewrap's own pid 1 once outlived the bwrap that started it, and a batch's worker
    processes ended without closing their sandbox: zombies for the machine's init."""
    import json

    for name in ("ann", "bob"):
        (tmp_path / "in" / name).mkdir(parents=True)
        for f in ("exercise1", "exercise2", "exercise3"):
            (tmp_path / "in" / name / f"{f}.py").write_text(solution(f))
    run = subprocess.run(
        [sys.executable, "-c", ADOPT_ORPHANS, str(tmp_path / "in"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout.splitlines()[-1]) == {"sandbox": [], "batch": []}


# --- a Docker-like container: same verdicts, a true note --------------------------------------

# Docker's default capabilities: without CAP_SYS_ADMIN, bubblewrap may create no namespace.
DOCKER_CAPS = (
    "-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,+setpcap,"
    "+net_bind_service,+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap"
)


# Docker's default seccomp profile, as it stands without CAP_SYS_ADMIN, in a process that then
# runs the command given: `unshare` refused, `clone` refused any new namespace, `clone3` unknown
# (ENOSYS, so the C library falls back to `clone`). x86_64's numbers: unshare 272, clone 56,
# clone3 435; `clone`'s flags are its first argument (offset 16 of seccomp's data).
DOCKER_SECCOMP = """
import ctypes, os, struct, sys
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
NEW_NAMESPACES = 0x7E020000  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
def op(code, k, jt=0, jf=0):
    return struct.pack("HBBI", code, jt, jf, k)
LOAD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06
program = b"".join([
    op(LOAD, 4), op(JEQ, 0xC000003E, 1, 0), op(RET, ALLOW),  # another architecture: as is
    op(LOAD, 0), op(JEQ, 435, 0, 1), op(RET, ENOSYS),
    op(JEQ, 272, 3, 0), op(JEQ, 56, 0, 3),
    op(LOAD, 16), op(JSET, NEW_NAMESPACES, 0, 1), op(RET, EPERM), op(RET, ALLOW),
])
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
libc = ctypes.CDLL(None, use_errno=True)
fprog = Fprog(len(program) // 8, program)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
    sys.exit("seccomp: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
"""


@as_root
@pytest.mark.parametrize("namespaces", ["allowed", "refused by Docker's seccomp profile"])
def test_a_docker_like_container_gives_the_same_verdicts_and_a_true_note(
    tmp_path, namespaces
) -> None:
    """Gradescope runs the grader as root in a Docker container: no CAP_SYS_ADMIN, so
    bubblewrap is refused, and Docker's default seccomp profile refuses the user namespace in
    which a student process would empty its /proc (confine.hide_processes). The verdicts must
    be the same as outside, and the note must say which promise is then not kept (student
    processes could pass data through what /proc shows) rather than claim it."""
    import json
    import platform
    import shutil

    from grader.pipeline import Grader
    from grader.submissions import Submission

    if shutil.which("setpriv") is None or shutil.which("bwrap") is None:
        pytest.skip("needs setpriv and bubblewrap")
    refused = namespaces != "allowed"
    if refused and platform.machine() != "x86_64":
        pytest.skip("the filter's system call numbers are x86_64's")
    files = _statistics_inside_a_function()
    (tmp_path / "in").mkdir()
    for name, data in files.items():
        (tmp_path / "in" / f"{name}.py").write_bytes(data)
    grader_cli = str(Path(sys.executable).parent / "grader")
    contained = [
        *((sys.executable, "-c", DOCKER_SECCOMP) if refused else ()),
        *("setpriv", f"--bounding-set={DOCKER_CAPS}", "--inh-caps=-all", "--"),
        *(grader_cli, "grade", str(tmp_path / "in"), "--out", str(tmp_path / "out")),
    ]
    run = subprocess.run(contained, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    inside = json.loads(next((tmp_path / "out").glob("**/result.json")).read_text())
    g = Grader()
    try:
        outside = g.grade(Submission("in", files)).to_json()
    finally:
        g.close()
    verdicts = {i["id"]: i["status"] for i in outside["items"]}
    assert {i["id"]: i["status"] for i in inside["items"]} == verdicts
    assert inside["score"] == outside["score"] == outside["max_score"]
    iso = inside["isolation"]
    assert iso["bubblewrap"] is False and iso["user"].startswith("a fresh")
    assert "installed but this machine refuses" in iso["notes"][0]
    assert "Creating new namespace failed" in iso["notes"][0]
    assert not any("install the" in n for n in iso["notes"])
    # /proc stays where the machine refuses the namespace, or where Python lies behind a folder
    # closed to student uids (a pyenv under /root, a clone in a mode-0700 folder), reached
    # through /proc/self/fd: either way the promise is said to be missing, and why.
    said = isolation.MISSING["exchange"] in iso["notes"]
    why = [n for n in iso["notes"] if n.startswith("/proc is not emptied for student processes")]
    assert said is bool(why) and (said or not refused), iso["notes"]
    reasons = ("refused the user namespace", "closed to student uids")
    assert all(any(r in n for r in reasons[not refused :]) for n in why), why


def test_a_zygote_removes_the_folders_of_zygotes_killed_outright(tmp_path, monkeypatch):
    """Without bubblewrap a zygote's folder is in the machine's /tmp; killed with its grader
    process (the OOM killer), it cleaned nothing up, and folders piled up batch after batch
    (a red team counted 108). The next zygote removes those whose pid no process has."""
    sys.path.insert(0, str(Path(confine.__file__).parent))  # the runtime imports its siblings
    try:
        from grader.sandbox.inside import zygote
    finally:
        sys.path.pop(0)
    dead = subprocess.Popen(["true"])
    dead.wait()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{zygote.ROOT_PREFIX}{dead.pid}-x1"
    (stale / "student-a").mkdir(parents=True)
    (stale / "student-a" / "f").write_text("left behind")
    kept = [
        tmp_path / f"{zygote.ROOT_PREFIX}{os.getpid()}-x2",  # a live zygote's
        tmp_path / f"{zygote.ROOT_PREFIX}abcdefgh",  # no pid in its name: nobody's to judge
        tmp_path / f"{zygote.ROOT_PREFIX}{'9' * 30}-x3",  # no such pid can exist
        tmp_path / "other-1",
    ]
    for k in kept:
        k.mkdir()
    zygote._sweep_stale_roots()
    assert not stale.exists()
    assert all(k.exists() for k in kept)


def _zygote_module():
    sys.path.insert(0, str(Path(confine.__file__).parent))  # the runtime imports its siblings
    try:
        from grader.sandbox.inside import zygote
    finally:
        sys.path.pop(0)
    return zygote


def test_a_package_folders_entries_are_read_only_for_imported_packages() -> None:
    """A distribution's files go with its package (`torch-2.13.0.dist-info`, `numpy.libs`);
    a folder's own `__pycache__` and `.pth` files with none; paths elsewhere are untouched; a
    package counts only in the folder it was imported from (a base Python's own torch, which
    holds torch/_decomp of its own, is not the environment's)."""
    zygote = _zygote_module()
    folders = {"/venv/site", "/base/site"}
    imported = {("/venv/site", key) for key in ("torch", "numpy", "typing_extensions")}
    readable = [
        "/venv/site/torch",
        "/venv/site/torch-2.13.0.dist-info",
        "/venv/site/numpy.libs",
        "/venv/site/typing_extensions.py",
        "/usr/lib/python3/anything",
    ]
    unreadable = [
        "/venv/site/sympy",
        "/venv/site/jinja2-3.1.6.dist-info",
        "/venv/site/__pycache__",
        "/venv/site/a.pth",
        "/base/site/torch",
    ]
    assert all(zygote._imported(p, folders, imported) for p in readable)
    assert not any(zygote._imported(p, folders, imported) for p in unreadable)


def test_the_packages_imported_are_found_where_they_were_imported_from() -> None:
    """`_imported_entries` keys each loaded top-level module by the folder it came from."""
    import numpy  # noqa: F401 - loaded, as in the zygote
    import torch

    zygote = _zygote_module()
    site = os.path.dirname(os.path.dirname(os.path.realpath(torch.__file__)))
    found = zygote._imported_entries({site, "/elsewhere"})
    assert {(site, "torch"), (site, "numpy")} <= found
    assert (site, "sympy") not in found and not any(f == "/elsewhere" for f, _ in found)


def test_a_python_folder_student_code_cannot_open_is_a_warning(tmp_path):
    """Checked by opening the folder (where its permissions and Landlock apply), not listing it."""
    zygote = _zygote_module()
    layers: dict = {}
    zygote._check_python_readable(layers, (str(tmp_path),))
    assert "warning" not in layers
    (tmp_path / "not-a-folder").write_text("")
    zygote._check_python_readable(layers, (str(tmp_path), str(tmp_path / "not-a-folder")))
    assert "cannot read" in layers["warning"] and "not-a-folder" in layers["warning"]


def test_the_grading_paths_inside_a_bound_folder_are_hidden_from_student_code() -> None:
    """A virtual environment made in the course's folder (`python -m venv .`) is bound into the
    sandbox with the class's uploads and results inside it: another student's upload and
    result were readable. The grading's paths are covered where they lie in a bound folder
    (an empty folder, an empty file for a zip), the environment itself still there."""
    if not isolation.detect().bubblewrap:
        pytest.skip("bubblewrap is what binds the folder")
    venv = Path(os.path.realpath(sys.prefix))
    course = Path(tempfile.mkdtemp(prefix="ninja-course-", dir=venv))
    try:
        (course / "class" / "victim").mkdir(parents=True)
        (course / "class" / "victim" / "exercise1.py").write_text("victim's work")
        (course / "bob.zip").write_bytes(b"bob's zip")
        program = textwrap.dedent(
            f"""
            import json, os
            seen = {{"class": os.listdir({str(course / "class")!r})}}
            with open({str(course / "bob.zip")!r}, "rb") as f:
                seen["zip"] = f.read().decode()
            seen["torch"] = os.path.isdir({str(venv / "lib")!r})
            print(json.dumps(seen))
            """
        )
        exe = shutil.which("bwrap")
        keep_out = [course / "class", course / "bob.zip"]
        command = [*isolation._bwrap_args(exe, keep_out=keep_out), "--", sys.executable, "-I"]
        run = subprocess.run([*command, "-c", program], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == {"class": [], "zip": "", "torch": True}
    finally:
        shutil.rmtree(course, ignore_errors=True)


QUEUED_SIGNALS = textwrap.dedent(
    """
    import signal
    import threading
    import time

    import torch


    def queue_one():
        # A real-time signal held blocked and queued to itself: counted in its uid's total.
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGRTMIN])
        try:
            signal.pthread_kill(threading.get_ident(), signal.SIGRTMIN)
        except OSError:
            return torch.tensor(0)
        return torch.tensor(1)


    def timer_fires():
        fired = []
        signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        time.sleep(0.2)
        return torch.tensor(len(fired))
    """
)


@pytest.mark.parametrize("bubblewrap", [True, False], ids=["bubblewrap", "no_bubblewrap"])
def test_a_student_process_queues_no_signal_a_sibling_could_count(bubblewrap) -> None:
    """The count of queued signals is the uid's: where student processes share one (a grader
    not run as root), one process queued a chosen number of real-time signals to itself and
    another read it back as how many it could queue before EAGAIN, in pure Python (1234 and
    777 came through exactly). Each student process may queue none (RLIMIT_SIGPENDING 0), and
    a timer's plain signal still arrives."""
    iso = isolation.detect(allow_bubblewrap=bubblewrap)
    if bubblewrap and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    zygote = Zygote(FAST, iso)
    try:
        process = zygote.spawn()
        assert process.load("m", QUEUED_SIGNALS).ok
        assert process.call("m", "queue_one", {}, []).value[0].item() == 0
        assert process.call("m", "timer_fires", {}, []).value[0].item() == 1
    finally:
        zygote.close()


def test_a_student_process_may_take_no_priority_above_its_neighbours(monkeypatch) -> None:
    """An unprivileged process may take SCHED_FIFO up to RLIMIT_RTPRIO and lower its nice value
    down to 20 - RLIMIT_NICE, limits it inherits from whoever started the grader (JACK's
    limits.d file gives a desktop's audio group rtprio 95): a student process spinning as
    SCHED_FIFO, its affinity set to every CPU (its own to set), leaves a neighbour graded beside
    it and the grader processes 5% of each second. Both limits are 0 in every student process,
    whatever the grader inherited. (This machine's root lacks CAP_SYS_RESOURCE, so no test here
    can start a grader with either limit raised: the zygote's own call is checked.)"""
    zygote = _zygote_module()
    import resource

    set_to = {}
    monkeypatch.setattr(zygote.resource, "setrlimit", lambda which, v: set_to.__setitem__(which, v))
    zygote._set_limits({}, 0)
    assert set_to[resource.RLIMIT_RTPRIO] == (0, 0)
    assert set_to[resource.RLIMIT_NICE] == (0, 0)


PRIORITY = textwrap.dedent(
    """
    import os
    import resource

    import torch


    def limits():
        return torch.tensor([*resource.getrlimit(resource.RLIMIT_RTPRIO),
                             *resource.getrlimit(resource.RLIMIT_NICE)])


    def fifo():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except OSError:
            return torch.tensor(0)
        return torch.tensor(1)


    def nicer():
        try:
            os.setpriority(os.PRIO_PROCESS, 0, -1)
        except OSError:
            return torch.tensor(0)
        return torch.tensor(1)
    """
)


def test_a_student_process_cannot_raise_its_priority() -> None:
    """What the limits above leave a student process: no real-time policy, no nice below 0."""
    zygote = Zygote(FAST)
    try:
        process = zygote.spawn()
        assert process.load("m", PRIORITY).ok
        assert process.call("m", "limits", {}, []).value[0].tolist() == [0, 0, 0, 0]
        assert process.call("m", "fifo", {}, []).value[0].item() == 0
        assert process.call("m", "nicer", {}, []).value[0].item() == 0
    finally:
        zygote.close()


def test_a_student_process_may_lock_no_memory(monkeypatch) -> None:
    """RLIMIT_MEMLOCK is inherited from whoever started the grader (8 MiB by default, unlimited
    where a container runs with `--ulimit memlock=-1`): a page a student process locks is one
    the kernel may neither swap nor reclaim for the other students and the grader. It is 0 in
    every student process, whatever the grader inherited (the zygote's own call is checked, as
    above: this machine's root cannot start a grader with the limit raised)."""
    zygote = _zygote_module()
    import resource

    set_to = {}
    monkeypatch.setattr(zygote.resource, "setrlimit", lambda which, v: set_to.__setitem__(which, v))
    zygote._set_limits({}, 0)
    assert set_to[resource.RLIMIT_MEMLOCK] == (0, 0)


MEMLOCK = textwrap.dedent(
    """
    import ctypes
    import mmap
    import resource

    import torch


    def limit():
        return torch.tensor(list(resource.getrlimit(resource.RLIMIT_MEMLOCK)))


    def lock_a_page():
        page = mmap.mmap(-1, mmap.PAGESIZE)
        address = ctypes.addressof(ctypes.c_char.from_buffer(page))
        libc = ctypes.CDLL(None, use_errno=True)
        locked = libc.mlock(ctypes.c_void_p(address), ctypes.c_size_t(mmap.PAGESIZE)) == 0
        return torch.tensor([int(locked), ctypes.get_errno()])
    """
)


def test_a_student_process_cannot_lock_a_page() -> None:
    """What the limit above leaves a student process with native code (the audit hook off, as
    when it is out of the way): `mlock` of one page is refused."""
    zygote = Zygote(FAST, audit_hook=False)
    try:
        process = zygote.spawn()
        assert process.load("m", MEMLOCK).ok
        locked, errno = process.call("m", "lock_a_page", {}, []).value[0].tolist()
        assert locked == 0, "a student process locked a page in memory"
        assert errno in (1, 11, 12)  # EPERM without CAP_IPC_LOCK; EAGAIN/ENOMEM on older kernels
        assert process.call("m", "limit", {}, []).value[0].tolist() == [0, 0]
    finally:
        zygote.close()
