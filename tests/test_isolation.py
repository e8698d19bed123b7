"""The sandbox gives the same verdicts wherever it runs: without bubblewrap, with Python under a
folder student uids may not enter, in a container that refuses namespaces or caps memory; and
no student process outlives grading, whatever it does to itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import mutated, solution

from grader.sandbox import isolation
from grader.sandbox.client import Limits, Zygote
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


def test_aliases_go_through_the_descriptor_of_the_longest_matching_root() -> None:
    fds = {"/opt/py": 7, "/opt/py/venv": 9}
    assert reach.alias("/opt/py/lib/os.py", fds) == "/proc/self/fd/7/lib/os.py"
    assert reach.alias("/opt/py/venv/lib", fds) == "/proc/self/fd/9/lib"
    assert reach.alias("/opt/py", fds) == "/proc/self/fd/7"
    assert reach.alias("/opt/python3/x", fds) == "/opt/python3/x"
    assert reach.alias("/usr/lib", {}) == "/usr/lib"


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
