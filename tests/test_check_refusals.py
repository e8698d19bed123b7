"""The student's check refuses, in Python, what the grader's kernel layers refuse its process.

check.py runs student code in the student's own Python, with no seccomp filter and no Landlock:
check_process refuses there what those refuse in the grader (a pipe, a FIFO, a memfd, another
process's scheduling or limits, an fcntl or ioctl command, a mapping of huge pages, the load
averages, a read of /proc), with the error the grader's process gets (its type, errno and
words, as a grader's run of each call showed them in result.json), and lets through what they
let through. Its lists are the grader's (inside/confine.py), checked here.
tests/test_student_check.py's scenarios check the whole table of a submission making each call
is the grader's.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import resource
import socket
import threading
import time
from pathlib import Path

import pytest
import torch

from grader import check_process
from grader.sandbox import isolation
from grader.sandbox.inside import confine

EPERM = "PermissionError: [Errno 1] Operation not permitted"
# Values that change nothing when a call is let through (the test without the refusals): the
# parent's own affinity, priority and limit set back to themselves.
PARENT = os.getppid()
PARENT_NICE = os.getpriority(os.PRIO_PROCESS, PARENT)
# A CPU clock of the parent process (Linux's MAKE_PROCESS_CPUCLOCK, CPUCLOCK_SCHED).
PARENT_CLOCK = (~PARENT << 3) | 2

README = str(Path(__file__).resolve().parent.parent / "README.md")  # the grader's own files

# call -> what the grader's process for student code gets from it (`grader grade` of a
# submission making each, thirty-ninth session)
REFUSED = {
    "os.pipe()": EPERM,
    "os.pipe2(0)": EPERM,
    "socket.socketpair()": EPERM,
    "os.mkfifo('fifo')": EPERM,
    "os.mknod('node')": EPERM,
    "os.memfd_create('m')": EPERM,
    "os.sched_setaffinity(PARENT, os.sched_getaffinity(0))": EPERM,
    "os.sched_getaffinity(PARENT)": EPERM,
    "os.sched_getparam(PARENT)": EPERM,
    "os.sched_getscheduler(PARENT)": EPERM,
    "os.sched_rr_get_interval(PARENT)": EPERM,
    "os.setpriority(os.PRIO_PROCESS, PARENT, PARENT_NICE)": EPERM,
    "os.getpriority(os.PRIO_PROCESS, PARENT)": EPERM,
    "os.getpriority(os.PRIO_PGRP, 0)": EPERM,
    "os.getpriority(os.PRIO_USER, 0)": EPERM,
    "resource.prlimit(PARENT, resource.RLIMIT_NOFILE)": EPERM,
    "time.clock_gettime(PARENT_CLOCK)": EPERM,
    "fcntl.fcntl(1, fcntl.F_SETPIPE_SZ, 4096)": (
        "PermissionError: fcntl command 1031 is not allowed in the grader"
    ),
    "fcntl.ioctl(1, 0x5402, bytes(60))": (
        "PermissionError: ioctl 0x5402 is not allowed in the grader"
    ),
    "os.getloadavg()": "OSError: Load averages are unobtainable",
    "mmap.mmap(-1, 2**21, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)": EPERM,
    "mmap.mmap(-1, 2**21, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)": EPERM,
    # its /proc is empty, and not to be listed
    "open('/proc/meminfo').read()": (
        "FileNotFoundError: [Errno 2] No such file or directory: '/proc/meminfo'"
    ),
    "open('/proc/self/status')": (
        "FileNotFoundError: [Errno 2] No such file or directory: '/proc/self/status'"
    ),
    "os.listdir('/proc')": "PermissionError: [Errno 13] Permission denied: '/proc'",
    # nothing outside the system's libraries, Python's installation and its own folder
    "open('/etc/hostname')": "PermissionError: [Errno 13] Permission denied: '/etc/hostname'",
    "open(PROJECT_README, 'rb')": f"PermissionError: [Errno 13] Permission denied: {README!r}",
    # nor list a folder outside those, its own included (Landlock's READ_DIR): check.py listed
    # them, and passed a function the grader gave ERROR (fortieth session)
    "os.listdir('/')": "PermissionError: [Errno 13] Permission denied: '/'",
    "os.listdir()": "PermissionError: [Errno 13] Permission denied",
    "os.scandir()": "PermissionError: [Errno 13] Permission denied",
    "os.listdir(b'/etc')": "PermissionError: [Errno 13] Permission denied: b'/etc'",
    "list(os.scandir(Path('..')))": "PermissionError: [Errno 13] Permission denied: '..'",
}
# What the grader lets through of the same calls: the process's own, a descriptor's own state.
ALLOWED = (
    "os.sched_getaffinity(0)",
    "os.sched_getaffinity(os.getpid())",
    "os.sched_setaffinity(0, os.sched_getaffinity(0))",
    "os.sched_getscheduler(0)",
    "os.getpriority(os.PRIO_PROCESS, 0)",
    "os.getpriority(os.PRIO_PROCESS, os.getpid())",
    "resource.prlimit(0, resource.RLIMIT_NOFILE)",
    "resource.prlimit(os.getpid(), resource.RLIMIT_NOFILE)",
    "time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID)",
    "time.clock_gettime((~os.getpid() << 3) | 2)",
    "time.clock_gettime(time.CLOCK_MONOTONIC)",
    "fcntl.fcntl(1, fcntl.F_GETFL)",
    "mmap.mmap(-1, 4096).close()",
    "isinstance(mmap.mmap(-1, 4096), mmap.mmap)",
    "os.listdir('/usr')",
    "os.listdir(os.path.dirname(os.__file__))",  # the standard library's folder
    "__import__('json.tool')",  # the import system lists folders outside them: let through
    "open(os.devnull).close()",
    "open(os.__file__).close()",  # the standard library
    "open(torch.__file__).close()",  # torch's installation
    "open('/etc/ld.so.cache', 'rb').close()",
)
NAMES = {"os": os, "socket": socket, "resource": resource, "time": time, "fcntl": fcntl}
NAMES |= {"torch": torch, "PROJECT_README": README, "Path": Path}
NAMES |= {"mmap": mmap, "PARENT": PARENT, "PARENT_NICE": PARENT_NICE, "PARENT_CLOCK": PARENT_CLOCK}


def _as_student(call: str, folder: Path) -> str:
    """What `call` gives student code under the check's conditions: its error as a traceback's
    last line says it, or "ok"."""
    with check_process.graders_conditions(folder, check_process.CappedOutput()):
        try:
            eval(call, dict(NAMES))
        except BaseException as e:  # noqa: BLE001 - the student's view of any error
            return f"{type(e).__name__}: {e}"
    return "ok"


@pytest.mark.parametrize("call", list(REFUSED))
def test_the_check_refuses_what_the_grader_s_kernel_refuses_in_its_words(call, tmp_path):
    assert _as_student(call, tmp_path) == REFUSED[call]
    assert not list(tmp_path.iterdir())  # no FIFO, no node made


@pytest.mark.parametrize("call", ALLOWED)
def test_the_check_lets_through_what_the_grader_lets_through(call, tmp_path):
    assert _as_student(call, tmp_path) == "ok"


def test_the_refused_calls_are_the_check_s_own_again_after_student_code(tmp_path):
    """Outside student code (after it, and in another thread while it runs) each is Python's."""
    _as_student("os.pipe()", tmp_path)
    for fd in os.pipe():
        os.close(fd)
    assert len(os.getloadavg()) == 3
    assert type(mmap.mmap(-1, 4096)) is mmap.mmap
    seen: list[object] = []
    with check_process.graders_conditions(tmp_path, check_process.CappedOutput()):
        thread = threading.Thread(target=lambda: seen.append(os.getloadavg()))
        check_process._REFUSING.discard(threading.get_ident())  # start it: not student code
        try:
            thread.start()
        finally:
            check_process._REFUSING.add(threading.get_ident())
        thread.join()
    assert len(seen[0]) == 3


def _grader_s_calls(arch: str) -> set[str]:
    """The system calls the grader's filter names (inside/confine.py): those it denies, and
    those it allows only against the process itself or without a flag."""
    table = confine._SYSCALLS[arch]
    named = set(table["deny"]) | set(table["self_or_zero"]) | set(table["clocks"])
    return named | {k for k, v in table.items() if isinstance(v, int) and k not in ("arch",)}


@pytest.mark.parametrize("arch", sorted(confine._SYSCALLS))
def test_every_call_the_check_refuses_is_one_the_grader_s_filter_names(arch):
    """KERNEL_REFUSED names each Python call by the system call the grader's filter refuses:
    a refusal here that the grader does not make would be a verdict the grader does not give."""
    named = _grader_s_calls(arch)
    missing = {call for _, _, call, _ in check_process.KERNEL_REFUSED} - named
    assert not missing, sorted(missing)


def test_the_check_s_fcntl_and_ioctl_commands_are_the_grader_s():
    assert frozenset(confine.FCNTL_COMMANDS) == check_process.FCNTL_COMMANDS
    assert frozenset(confine.IOCTLS) == check_process.IOCTLS
    assert check_process.MAP_HUGETLB == confine.MAP_HUGETLB
    assert check_process.RWF_NOWAIT == confine.RWF_NOWAIT


def test_the_check_reads_its_own_folder_and_no_folder_beside_it(tmp_path):
    """A file in the folder student code runs in is its to read, as in the grader; one in the
    folder beside it is not (check.py read it)."""
    home, beside = tmp_path / "home", tmp_path / "beside"
    for folder in (home, beside):
        folder.mkdir()
        (folder / "names.txt").write_text("emma\n")
    assert _as_student("open('names.txt').read()", home) == "ok"
    outside = str(beside / "names.txt")
    said = _as_student(f"open({outside!r}).read()", home)
    assert said == f"PermissionError: [Errno 13] Permission denied: {outside!r}"
    assert _as_student("open('../beside/names.txt').read()", home).startswith("PermissionError")


def test_the_check_s_readable_system_paths_are_the_grader_s():
    assert check_process.SYSTEM_DIRS == isolation.SYSTEM_DIRS
    assert check_process.SYSTEM_FILES == isolation.SYSTEM_FILES
