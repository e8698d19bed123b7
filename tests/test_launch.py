"""Zygotes launched before torch is imported: the first default Zygote of the same process adopts
one; with `-j N`, each grader process a batch forks adopts one of N and the batch's process lets
go of them, so that each ends with the grader process that used it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from types import SimpleNamespace

import pytest
from conftest import solution

from grader.batch import grade_batch
from grader.sandbox import isolation, launch
from grader.sandbox.client import Limits, Zygote
from grader.sandbox.inside import cleanup


def test_the_first_default_zygote_adopts_the_prestarted_one():
    launch.prestart()
    early_pid = launch._early[0].proc.pid
    zygote = Zygote(Limits())
    try:
        assert zygote.proc.pid == early_pid
        assert launch.take() is None  # adopted once, never twice
        student = zygote.spawn()  # and it works like any other
        student.close()
    finally:
        zygote.close()


def test_a_zygote_with_layers_off_never_adopts_it():
    launch.prestart()
    early_pid = launch._early[0].proc.pid
    zygote = Zygote(Limits(), seccomp=False)
    try:
        assert zygote.proc.pid != early_pid
    finally:
        zygote.close()
        launched = launch.take()
        assert launched is not None and launched.proc.pid == early_pid
        launch.reap([launched], seconds=0)


def test_a_zygote_keeping_paths_out_adopts_the_prestarted_one_where_nothing_leads_there(tmp_path):
    """Launched before the command's paths were known, the zygote is kept where its ways in
    lead to none of them (Landlock in force, or no closed folder): the head start stays."""
    launch.prestart()
    early_pid = launch._early[0].proc.pid
    zygote = Zygote(Limits(), keep_out=[tmp_path / "uploads", tmp_path / "out"])
    try:
        assert zygote.proc.pid == early_pid
    finally:
        zygote.close()


def test_a_prestarted_zygote_whose_way_in_leads_to_a_kept_out_path_is_replaced(tmp_path):
    """Without Landlock, a way in opened by a zygote that was not told the paths could lead a
    student process to them (inside/reach.py): such a zygote is replaced by one that was."""
    course = tmp_path / "course"
    asked = SimpleNamespace(_keep_out=(str(course / "uploads"),))
    told = SimpleNamespace(keep_out=tuple(isolation.kept_out()))
    assert Zygote._exposes(asked, told, {"exposed": [str(course)]})
    assert Zygote._exposes(asked, told, {})  # a zygote that does not say is not trusted to
    assert not Zygote._exposes(asked, told, {"exposed": []})
    assert not Zygote._exposes(asked, told, {"exposed": [str(tmp_path / "python")]})
    already = SimpleNamespace(keep_out=tuple(isolation.kept_out(asked._keep_out)))
    assert not Zygote._exposes(asked, already, {"exposed": [str(course)]})


def test_a_prestarted_zygote_whose_reads_hold_a_kept_out_path_is_replaced():
    """Student code may read Python's folders (bubblewrap binds them, Landlock allows them),
    minus the paths the zygote was told to keep out: one not told of a class's uploads inside
    them (a virtual environment made in the course's folder) would let every student read
    them, with or without a way in."""
    uploads = os.path.join(os.path.realpath(sys.prefix), "class-uploads")
    asked = SimpleNamespace(_keep_out=(uploads,))
    told = SimpleNamespace(keep_out=tuple(isolation.kept_out()))
    assert Zygote._exposes(asked, told, {"exposed": []})
    told_all = SimpleNamespace(keep_out=tuple(isolation.kept_out(asked._keep_out)))
    assert not Zygote._exposes(asked, told_all, {"exposed": []})


def test_a_forked_copy_of_the_process_never_takes_it():
    launch.prestart()
    child = os.fork()
    if child == 0:
        os._exit(0 if launch.take() is None else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    launched = launch.take()
    assert launched is not None
    launch.reap([launched], seconds=0)


def test_a_forked_grader_process_adopts_its_zygote_and_finds_it_alive():
    """Not the zygote's parent, it cannot wait on it: liveness comes from a pidfd."""
    launch.prestart(2)
    second = launch._early[1].proc.pid
    child = os.fork()
    if child == 0:
        code = 1
        try:
            launch.adopt(1)
            zygote = Zygote(Limits())
            student = zygote.spawn()
            ok = student.load("m", "X = 1\n").ok
            student.close()
            code = 0 if (zygote.proc.pid == second and zygote.alive() and ok) else 2
            zygote.close()
        finally:
            os._exit(code)
    handed = launch.hand_over()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert launch.take() is None  # the batch's process keeps none for itself
    launch.reap(handed, seconds=60)
    # Each ended by itself, unkilled (the one nobody adopted may complain on its closed stderr).
    assert all(h.proc.returncode >= 0 for h in handed) and handed[1].proc.returncode == 0


def test_a_zygote_ends_with_the_grader_process_that_adopted_it():
    """Every other copy of its control socket is closed: a grader process that dies (without
    closing anything) leaves its zygote at the end of its input, and it leaves too."""
    launch.prestart(2)
    child = os.fork()
    if child == 0:
        launch.adopt(0)
        os._exit(0)
    handed = launch.hand_over()
    os.waitpid(child, 0)
    launch.reap(handed, seconds=60)
    assert all(h.proc.returncode >= 0 for h in handed)  # not killed by reap: gone by itself


def test_a_batch_grades_with_the_zygotes_launched_before_it(tmp_path, monkeypatch):
    root = tmp_path / "class"
    for name, source in {"ada": solution("exercise2"), "bob": "def dlogits(): pass\n"}.items():
        (root / name).mkdir(parents=True)
        (root / name / "exercise2.py").write_text(source)
    launch.prestart(2)
    early = [launched.proc for launched in launch._early]

    def no_other(*args, **kwargs):
        raise RuntimeError("a grader process launched a zygote of its own")

    monkeypatch.setattr(launch, "start_zygote", no_other)  # forked processes inherit this
    results = grade_batch(root, tmp_path / "out", jobs=2, progress=False)
    scores = {r["submission"]: r["exercises"]["exercise2"]["score"] for r in results}
    assert scores == {"ada": 20, "bob": 0}
    for folder in ("ada", "bob"):
        result = json.loads((tmp_path / "out" / folder / "result.json").read_text())
        assert "grader could not" not in json.dumps(result)
    assert all(proc.returncode is not None for proc in early)  # reaped by the batch
    assert launch._early == []


def test_cpus_are_given_only_when_every_cpu_has_a_grader_process(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {7, 2, 5})  # a container's cpuset
    assert [launch.cpu_for(i, 1) for i in range(2)] == [None, None]
    assert [launch.cpu_for(i, 2) for i in range(2)] == [None, None]  # a CPU left for students
    assert [launch.cpu_for(i, 3) for i in range(4)] == [2, 5, 7, 2]
    assert [launch.cpu_for(i, 4) for i in range(4)] == [2, 5, 7, 2]


def test_a_cpu_the_kernel_refuses_costs_nothing_but_the_pinning(monkeypatch):
    """Pinning only saves time: a zygote is launched, unpinned, even when it fails."""

    def refuse(pid, cpus):
        raise OSError(22, "Invalid argument")

    usable = os.sched_getaffinity(0)
    monkeypatch.setattr(os, "sched_setaffinity", refuse)
    assert launch.pin(0) is False
    monkeypatch.setattr(launch, "cpu_for", lambda index, count: 0)
    launch.prestart(2)
    zygote = Zygote(Limits())
    try:
        assert zygote.alive() and os.sched_getaffinity(zygote.proc.pid) == usable
        student = zygote.spawn()
        assert student.load("m", "X = 1\n").ok
        student.close()
    finally:
        zygote.close()


CPUS = """
import os
import signal
import torch

def cpus():
    return torch.tensor(sorted(os.sched_getaffinity(0)))
"""


def test_each_grader_process_of_a_batch_shares_its_cpu_with_its_zygote(tmp_path, monkeypatch):
    """The student processes are the zygote's forks: they inherit its CPU, whether the zygote
    was launched alone or forked with the others from one process (inside/nest.py)."""
    import grader.batch as batch

    usable = sorted(os.sched_getaffinity(0))
    monkeypatch.setattr(launch, "cpu_for", lambda index, count: usable[index % len(usable)])
    root = tmp_path / "class"
    for name in ("ada", "bob", "cy", "dee"):
        (root / name).mkdir(parents=True)
        (root / name / "exercise2.py").write_text(solution("exercise2"))
    launch.prestart(2)
    real = batch._grade_and_write

    def grade_and_note(grader, sub, out):
        student = grader.zygote.spawn()  # a fork of the zygote, wherever that runs
        try:
            assert student.load("cpus", CPUS).ok
            theirs = student.call("cpus", "cpus", {}, []).value[0].tolist()
        finally:
            student.close()
        note = [sorted(os.sched_getaffinity(0)), theirs]
        (tmp_path / f"{sub.name}.json").write_text(json.dumps(note))
        return real(grader, sub, out)

    monkeypatch.setattr(batch, "_grade_and_write", grade_and_note)
    grade_batch(root, tmp_path / "out", jobs=2, progress=False)
    notes = [json.loads((tmp_path / f"{n}.json").read_text()) for n in ("ada", "bob", "cy", "dee")]
    assert all(len(mine) == 1 and mine == zygotes for mine, zygotes in notes)


@pytest.fixture(autouse=True)
def _nothing_left_over():
    yield
    launch.reap(launch.hand_over(), seconds=0)
    for launched in list(launch._early):
        launch.reap([launched], seconds=0)
    launch._early.clear()


def _orphaned_sandboxes(since_ticks: int) -> list[int]:
    """bubblewrap processes (or what bubblewrap started) of this user left with no parent but
    init since `since_ticks` (a process start time, in clock ticks since boot). Another user's
    are not this run's: the suite run by root beside a user's counted the user's."""
    found = []
    for pid in launch._all_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read()
            owner = _real_uid(pid)  # /proc/PID's owner is root for a non-dumpable process
        except (OSError, ValueError):
            continue
        parent, started = int(fields[1]), int(fields[19])
        ours = owner == os.getuid()
        bwrap = b"bwrap" in command.split(b"\0")[0]
        orphan = ours and parent == 1 and started >= since_ticks and bwrap
        if orphan and fields[0] not in ("Z", "X") and not _being_killed(pid):
            found.append(pid)
    return found


def _real_uid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Uid:"))


def _being_killed(pid: int) -> bool:
    """A SIGKILL is pending for it: killed with its grader (another test's batch stopped by a
    signal), it is on its way out, however long its teardown takes on a loaded machine."""
    try:
        with open(f"/proc/{pid}/status") as f:
            pending = {k: v for k, v in (ln.split(":", 1) for ln in f if ":" in ln)}
    except OSError:
        return True  # gone already
    sigkill = 1 << (9 - 1)
    return any(int(pending.get(k, "0").strip() or "0", 16) & sigkill for k in ("SigPnd", "ShdPnd"))


def test_a_sandbox_killed_at_any_moment_of_its_start_leaves_no_process_behind():
    """bubblewrap binds its first child's life to its own only partway through that child's
    set-up: killed alone before then, it left the child waiting forever as pid 1 of its own
    namespace (4 of 26 launches here). Stopped, its children killed, then itself: none."""
    import time

    from grader.sandbox import isolation

    iso = isolation.detect()
    if not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    with open("/proc/uptime") as f:  # this test's start, in clock ticks since boot
        since = int(float(f.read().split()[0]) * os.sysconf("SC_CLK_TCK"))
    for delay_ms in [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30] * 2:
        launched = launch.start_zygote(iso, {}, None, False)
        time.sleep(delay_ms / 1000)
        launch.reap([launched], seconds=0)
        launched.ctl.close()
    # The leak waited forever; a sandbox of another test running beside this one (a batch
    # stopped by a signal) is an orphan for a moment on its way out: only lasting ones count.
    left = _orphaned_sandboxes(since)
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = [pid for pid in _orphaned_sandboxes(since) if pid in left]
    for pid in left:
        os.kill(pid, 9)  # never left for the next test, even when this one fails
    assert left == []


def test_a_sandbox_killed_while_it_forks_leaves_no_child_behind():
    """A stop signal that lands inside fork() lets the fork finish, and the child joins the
    list only then: read at once, the list missed it and it outlived the kill (half the runs
    here; the CI's suite caught one bubblewrap child so). A process that forks without end,
    each fork slow (page tables of a large heap to copy), is killed ten times: no child lives
    on."""
    import subprocess
    import time

    mark = f"{os.getpid()}.5"  # a sleep's length no other process here asks for
    forever = (
        "import os\n"
        "heap = b'x' * (128 << 20)\n"
        "while True:\n"
        f"    if os.fork() == 0:\n        os.execvp('sleep', ['sleep', '{mark}'])\n"
    )
    command = [sys.executable, "-c", forever]
    left = []
    for _ in range(10):
        forker = subprocess.Popen(command)
        deadline = time.monotonic() + 30
        while not launch.children_of(forker.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # well into forking: hundreds of children, the newest always on its way
        launch.kill_sandbox(forker, launch.pidfd_of(forker.pid))
        forker.wait()
        left += _outliving(command, f"sleep\0{mark}\0".encode())
    assert left == []


def _outliving(command: list[str], sleeping: bytes, within_s: float = 30.0) -> list[int]:
    """The forker's children still alive `within_s` after the kill, then killed: a killed
    child ends in milliseconds, but on a loaded machine its SIGKILL waited for a CPU while its
    command line was read (1 run in 40 beside four busy loops took a dying `sleep` for an
    escaped one), and a child that escaped lives for hours, before or after its exec."""
    import time

    forked = "\0".join(command).encode() + b"\0"  # a child not yet past its exec

    def children() -> list[int]:
        found = []
        for pid in launch._all_pids():
            with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() in (sleeping, forked):
                    found.append(pid)
        return found

    deadline = time.monotonic() + within_s
    while (alive := children()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive:
        with contextlib.suppress(OSError):
            os.kill(pid, 9)  # never left for the next test, even when this one fails
    return alive


@pytest.mark.parametrize("with_pidfd", [True, False])
def test_a_reaped_sandboxs_pid_is_never_used_to_find_children(monkeypatch, with_pidfd):
    """Once reaped, its pid may be another process's: nothing that process started is killed."""
    import subprocess

    gone = subprocess.Popen(["sleep", "0.01"])
    pidfd = os.pidfd_open(gone.pid) if with_pidfd else None
    gone.wait()
    victim = subprocess.Popen(["sleep", "30"])
    try:
        # As if `gone`'s pid now belonged to the process that started `victim`.
        monkeypatch.setattr(launch, "children_of", lambda pid: [victim.pid])
        launch.kill_sandbox(gone, pidfd)
        with pytest.raises(subprocess.TimeoutExpired):  # still running, not killed
            victim.wait(timeout=0.5)
    finally:
        victim.kill()
        victim.wait()
        if pidfd is not None:
            os.close(pidfd)


# Launches a zygote without bubblewrap and ends before the zygote has asked for its
# parent-death signal (Python's start alone takes longer than this process's exit).
_LAUNCH_AND_END = """
import os
from grader.sandbox import isolation, launch
launched = launch.start_zygote(isolation.detect(allow_bubblewrap=False), {})
print(launched.proc.pid, flush=True)
os._exit(0)
"""


def test_a_zygote_whose_grader_ended_before_it_started_ends_without_setting_up():
    """A grader stopped (SIGTERM, Ctrl-C) right after launching its zygotes ended before the
    last one asked for its parent-death signal, which the kernel then never sends: that zygote
    ran on alone for seconds (torch imported, a probe forked) and left its folder in /tmp. It
    now ends on its first look at its parent, before any of that."""
    import select
    import subprocess

    if not hasattr(os, "pidfd_open"):
        pytest.skip("needs pidfd_open (Linux 5.3)")
    said = subprocess.run(
        [sys.executable, "-c", _LAUNCH_AND_END], capture_output=True, text=True, check=True
    )
    pid = int(said.stdout)
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        pidfd = None  # ended already
    try:
        # Not a timing claim: a guard against waiting for good on a zygote that never ends.
        ended = pidfd is None or bool(select.select([pidfd], [], [], 120)[0])
    finally:
        if pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)  # never left for the next test
            os.close(pidfd)
    assert ended
    left = [p for p in os.listdir("/tmp") if p.startswith(f"ninja-sandbox-{pid}-")]  # its TMPDIR
    for name in left:  # never left for the next run, even when this test fails
        cleanup.remove(os.path.join("/tmp", name))
    assert left == [], "the orphaned zygote set itself up"
