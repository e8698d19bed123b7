"""Starting the zygote's process, torch-free, so that a command can start it before importing torch.

A cold `grader grade` or `grader check` used to import torch (~1.7 s), then start the zygote,
which imports torch again in its own process: two imports one after the other. `prestart()`
launches the zygote first, so that both imports run at once on two cores; the first `Zygote`
of the same process then adopts it (`take()`) instead of launching its own. Nothing else
changes: the zygote, its configuration and its layers are the ones `Zygote` would have started.

A batch with `-j N` launches N zygotes this way, one for each grader process it will fork:
each grader process keeps its own (`adopt`) and closes its copies of the others, and the
launching process lets go of all of them once its grader processes exist (`hand_over`), so that
each zygote ends with the one grader process that uses it, as a zygote it started itself would.
"""

from __future__ import annotations

import contextlib
import copy
import os
import queue
import resource
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .inside import confine, protocol
from .isolation import (
    CLEAN_ENV,
    Isolation,
    can_nest,
    detect,
    kept_out,
    nest_config,
    zygote_command,
    zygote_config,
)
from .memory import Cgroup, container_memory


def protect_trusted_process() -> str:
    """Make the grader's process non-dumpable: no process of the same user (student code on a
    laptop without a separate uid) can read its memory, environment or file descriptors through
    /proc or ptrace. Inherited by processes it forks; idempotent."""
    try:
        confine.not_dumpable()
    except (OSError, AttributeError) as e:
        return f"could not be made non-dumpable: {e}"
    return "non-dumpable: its memory, environment and files are closed to other processes"


# Open files a grading may want at once, with room: the zygote's ~270 Landlock rules held as
# descriptors, three student processes' sockets and pipes, the uploads of a class being read.
OPEN_FILES = 4096
# Below this many, a grading runs out (measured: 160 did, 300 did not).
OPEN_FILES_NEEDED = 512


def room_for_open_files(want: int = OPEN_FILES) -> str:
    """Raise this process's soft limit on open files to `want` (never past the hard limit, never
    lower), for it and the zygotes it starts; a warning to print where even the hard limit is too
    low, else "". A grading holds 160-300 files open, and under a soft limit of 256 (a shell's
    `ulimit -n 256`, some clusters' default, where the hard limit allows far more) every item
    failed with "the grader could not judge some items: Too many open files". Student processes
    set their own, far lower, limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY or soft >= OPEN_FILES_NEEDED:
        return ""
    return (
        f"warning: this process may open {soft} files, and a grading holds up to about 300 open "
        "at once: items may fail with 'Too many open files'; raise the limit to at least "
        f"{OPEN_FILES_NEEDED} (`ulimit -n {OPEN_FILES_NEEDED}` in the shell, or the container's "
        "nofile limit) and run again"
    )


class _Launcher:
    """Starts the zygote from one thread that lives as long as the process.

    bubblewrap's --die-with-parent and the zygote's own parent-death signal fire when the
    *thread* that started them ends; a grader that starts its sandbox from a short-lived thread
    would otherwise see the sandbox die at once.
    """

    def __init__(self) -> None:
        self._pid: int | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._guard = threading.Lock()

    def run(self, fn: Callable[[], Any]) -> Any:
        with self._guard:
            if self._pid != os.getpid():  # first use, or a forked copy of this process
                self._pid, self._jobs = os.getpid(), queue.Queue()
                threading.Thread(target=self._serve, args=(self._jobs,), daemon=True).start()
        box: queue.Queue = queue.Queue(maxsize=1)
        self._jobs.put((fn, box))
        ok, value = box.get()
        if not ok:
            raise value
        return value

    @staticmethod
    def _serve(jobs: queue.Queue) -> None:
        while True:
            fn, box = jobs.get()
            try:
                box.put((True, fn()))
            except BaseException as e:  # noqa: BLE001 - handed back to the caller's thread
                box.put((False, e))


_launch = _Launcher().run


class Launched(NamedTuple):
    """A zygote's process as launched, before its first word."""

    iso: Isolation
    proc: subprocess.Popen
    ctl: socket.socket
    trusted: str  # what protect_trusted_process said
    pidfd: int | None  # exactly this process: a grader process that adopted it cannot wait on it
    parent: int  # the pid that launched it, the only one that can reap it
    # One of several zygotes nested in one process (inside/nest.py): `proc` and `pidfd` are
    # that process, which lives as long as any of them; this zygote's end is its socket's.
    nested: bool = False
    # The paths its configuration kept out of the ways in of inside/reach.py (kept_out).
    keep_out: tuple[str, ...] = ()


# The zygote's heap on transparent huge pages, for a batch large enough to pay for them.
# Every student process is a fork of the zygote, and a fork copies, then its exit frees, one
# page-table entry per 4 KiB page the zygote has written: torch's ~85 MB heap alone is ~21,000
# of them, three times per submission. On 2 MiB pages the same heap is ~40 entries. glibc
# (2.35+) marks its heap for huge pages when asked here, where the kernel hands them out on
# request ("madvise", the usual setting); elsewhere it changes nothing. On a class of 100 with
# -j 2 the kernel's page-table copying and freeing fell from 11% to 7% of all CPU time; a class
# of 1,000 took 2-3% less time. The price is paid at the start: the kernel zeroes each 2 MiB
# page as torch's import first touches it, 0.3-0.5 s more for the zygote's start on the 2-core
# VM (docs/performance.md), which a cold grading, `grader check` or a small class would only
# lose. Student processes allocate their own memory on ordinary pages (zygote.py):
# a 2 MiB page zeroed for a small allocation is memory and time spent for nothing.
HUGE_HEAP = "glibc.malloc.hugetlb=1"
# Forks to pay for it: a batch with at least this many submissions for each grader process,
# each of which imports torch in a zygote of its own. Measured: no gain at 50 (a class of 100
# with -j 2) nor at 100 (with -j 1); 2-3% at 500.
HUGE_HEAP_FROM = 250
# Nested zygotes (inside/nest.py) share one import, so its price is paid once for the batch,
# beside the parent's own import: a class of 100 with -j 2 then spends ~6% less CPU time (the
# kernel's share falls by ~1 s), with its first result no later; 20 or 50 come out even.
HUGE_HEAP_NESTED_FROM = 50


def huge_heap_pays(submissions: int, processes: int, nested: bool = False) -> bool:
    """Whether a batch of `submissions` over `processes` grader processes should give its
    zygotes huge pages (HUGE_HEAP): only where enough forks follow the slower start, whose
    price is paid once for `nested` zygotes and once per grader process otherwise."""
    if nested:
        return submissions >= HUGE_HEAP_NESTED_FROM
    return submissions >= HUGE_HEAP_FROM * max(processes, 1)


def start_zygote(
    iso: Isolation,
    layers: dict[str, bool],
    cpu: int | None = None,
    huge_heap: bool = False,
    keep_out: Sequence[str | os.PathLike] = (),
) -> Launched:
    """Launch the zygote's process (on `cpu` only, if given: see `cpu_for`; its heap on huge
    pages if `huge_heap`: see HUGE_HEAP; `keep_out`: see `zygote_config`); returns the
    isolation it runs under, the process, the control socket and what
    `protect_trusted_process` said. Waiting for it is the caller's."""
    trusted = protect_trusted_process()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    config = dict(zygote_config(iso, keep_out), env=sorted(CLEAN_ENV), **layers)
    if not iso.bubblewrap:  # bubblewrap's --die-with-parent and pid namespace see to it there
        config["launcher"] = os.getpid()  # the zygote ends if this is no longer its parent
    proc = _popen_zygote(zygote_command(iso, keep_out=keep_out), [theirs], cpu, huge_heap)
    _hand_config(ours, config)
    kept = tuple(kept_out(keep_out))
    return Launched(iso, proc, ours, trusted, pidfd_of(proc.pid), os.getpid(), keep_out=kept)


def _popen_zygote(
    command: list[str],
    theirs: list[socket.socket],
    cpu: int | None,
    huge_heap: bool,
) -> subprocess.Popen:
    """The zygote's process, answering on `theirs` (closed here once it holds them), with
    nothing of this process's environment but CLEAN_ENV; its configuration follows on the
    first socket (`_hand_config`)."""
    fds = [sock.fileno() for sock in theirs]
    env = dict(CLEAN_ENV, NINJA_ZYGOTE_FD=",".join(map(str, fds)))
    if huge_heap:
        env["GLIBC_TUNABLES"] = HUGE_HEAP
    popen = dict(
        pass_fds=fds,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd="/",
    )
    try:
        return _launch(lambda: _popen_on(cpu, command, popen))
    finally:
        for sock in theirs:
            sock.close()


def _hand_config(ours: socket.socket, config: dict) -> None:
    """The zygote's configuration, as the first message on its (first) control socket, which
    it reads before anything else. Not in its environment: the environment's block stays in
    the zygote's memory, which every student process inherits and can read (the block carried
    the class's and OUT's paths to a student's report: inside/reach.py). A zygote that died
    before reading it is found out as before: no first word (client.Zygote)."""
    with contextlib.suppress(OSError):  # gone already (bubblewrap refused): it never says ready
        protocol.send(ours, {"config": config})


def pidfd_of(pid: int) -> int | None:
    """A handle on exactly this process (never a later one that reuses its number); Linux 5.3+."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def ended(pidfd: int, seconds: float = 0.0) -> bool:
    """Whether the process behind `pidfd` has ended, waiting at most `seconds` for it."""
    return bool(select.select([pidfd], [], [], seconds)[0])


def start_nested(
    iso: Isolation, count: int, huge_heap: bool = False, keep_out: Sequence[str | os.PathLike] = ()
) -> list[Launched]:
    """Launch one process that imports torch once and forks `count` zygotes, each walled off
    in namespaces and a /tmp of its own (inside/nest.py; only where `isolation.can_nest`).
    Zygote number i runs on `cpu_for(i, count)`; the process importing torch runs anywhere."""
    trusted = protect_trusted_process()
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(count)]
    cpus = [cpu_for(i, count) for i in range(count)]
    config = dict(zygote_config(iso, keep_out), env=sorted(CLEAN_ENV), nest=nest_config(cpus))
    command = zygote_command(iso, nested=True, keep_out=keep_out)
    proc = _popen_zygote(command, [theirs for _, theirs in pairs], None, huge_heap)
    _hand_config(pairs[0][0], config)
    kept = tuple(kept_out(keep_out))
    return [
        Launched(
            copy.deepcopy(iso), proc, ours, trusted, pidfd_of(proc.pid), os.getpid(), True, kept
        )
        for ours, _ in pairs
    ]


_early: list[Launched] = []  # launched by prestart, not yet taken, for this process
_early_pid: int | None = None  # the process they are for
# The container's memory as the command's first sandbox found it ready, before any student code
# ran: the headroom of every student process of the command (client.Zygote), the grader
# processes a batch forks included (batch takes it before it forks them).
_memory_at_start: list[Cgroup | None] = []


def memory_at_start(take: Callable[[], Cgroup | None] = container_memory) -> Cgroup | None:
    """The container's memory as this process, or the one it was forked from, first asked for
    it, taken by `take` now if never. Asked for it once a sandbox is ready (its torch imported)
    and before any student code runs: taken again as each student process started, it counted
    what the others held (the cgroup counts every process in it), and each new student
    process's limit told it so; taken at the command's first instant, before torch was
    imported on either side, it left out the ~0.4 GB both then hold, and a student process's
    allocation met the container's OOM killer instead of its own MemoryError."""
    if not _memory_at_start:
        _memory_at_start.append(take())
    return _memory_at_start[0]


def prestart(
    count: int = 1, submissions: int = 1, keep_out: Sequence[str | os.PathLike] = ()
) -> None:
    """Launch `count` default zygotes (every layer, detected isolation): the first for this
    process to take, the others for the grader processes it will fork. Zygote number i runs on
    `cpu_for(i, count)`, where grader process number i will run. `submissions`: about how many
    the batch holds, to decide on huge pages (huge_heap_pays). `keep_out`: the paths the
    grading will read and write (`zygote_config`); a zygote that takes one launched without
    a path it keeps out checks what its ways in expose (client.Zygote)."""
    global _early, _early_pid
    if _early and _early_pid == os.getpid():
        return
    iso = detect()
    if count > 1 and can_nest(iso):  # one torch import for all of them
        huge_heap = huge_heap_pays(submissions, count, nested=True)
        launched = start_nested(iso, count, huge_heap, keep_out)
    else:
        huge_heap = huge_heap_pays(submissions, count)
        launched = [
            start_zygote(copy.deepcopy(iso), {}, cpu_for(i, count), huge_heap, keep_out)
            for i in range(count)
        ]
    _early, _early_pid = launched, os.getpid()


def cpu_for(index: int, count: int) -> int | None:
    """The CPU for grader process `index` of `count` and for its sandbox, or None to leave
    placement to the kernel.

    A grader process and its student processes take turns: every call is a request, a short
    computation and an answer. On different CPUs each turn wakes the other CPU, which on a
    virtual machine costs more than the call itself; on one CPU it is a context switch. When a
    batch has at least as many grader processes as this process may use CPUs, every CPU is busy
    anyway, so each grader process and its zygote (whose forks inherit the CPU) get one of
    their own: a class of 100 with -j 2 took 8% less time on the 2-core machine
    (docs/performance.md). With fewer grader processes than CPUs nothing is pinned: students'
    calls may then run while their grader judges the answer before."""
    usable = sorted(os.sched_getaffinity(0))
    if count < 2 or count < len(usable):
        return None
    return usable[index % len(usable)]


def _popen_on(cpu: int | None, command: list[str], popen: dict) -> subprocess.Popen:
    """Popen, on `cpu` alone if given: a child inherits the affinity of the thread that forks
    it, so this thread takes it for the fork and gives it back."""
    before = os.sched_getaffinity(0)
    if cpu is None or not pin(cpu):  # pinning only saves time: never fail for it
        return subprocess.Popen(command, **popen)
    try:
        return subprocess.Popen(command, **popen)
    finally:
        pin(*before)


def pin(*cpus: int) -> bool:
    """This thread (and what it starts from now on) on `cpus` only; False if the kernel
    refuses (a CPU taken away from the container meanwhile)."""
    try:
        os.sched_setaffinity(0, set(cpus))
    except OSError:
        return False
    return True


def take() -> Launched | None:
    """A zygote `prestart` launched for this very process (never a forked copy's), once."""
    if _early_pid != os.getpid() or not _early:
        return None
    return _early.pop(0)


def adopt(index: int) -> None:
    """In a grader process just forked from the one that called `prestart`: keep the zygote
    number `index` for `take`, and close this process's copies of the others' control sockets,
    so that each zygote sees the end of the one grader process that uses it."""
    global _early, _early_pid
    ours = _early_pid == os.getppid()  # launched by our parent, not inherited from further up
    mine = [launched for i, launched in enumerate(_early) if i == index and ours]
    kept = mine[0].proc if mine else None
    for i, launched in enumerate(_early):
        if i != index or not ours:
            _let_go(launched, stderr=launched.proc is not kept)  # a nested one shares ours
            if launched.pidfd is not None:
                os.close(launched.pidfd)
    _early, _early_pid = mine, os.getpid()


def hand_over() -> list[Launched]:
    """In the process that called `prestart`, once its grader processes are forked: close its
    copies of every zygote it did not take (each now belongs to one of them) and return them,
    for `reap` once those processes are done. A process forked later starts its own."""
    global _early
    given, _early = (_early if _early_pid == os.getpid() else []), []
    for launched in given:
        _let_go(launched)
    return given


def reap(given: list[Launched], seconds: float = 5.0) -> None:
    """Wait for zygotes handed over (each ends when its control socket closes); kill those
    still there after `seconds`."""
    for launched in given:
        try:
            launched.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            kill_sandbox(launched.proc, launched.pidfd)
            launched.proc.wait()
        if launched.pidfd is not None:
            os.close(launched.pidfd)


def kill(launched: Launched) -> None:
    """SIGKILL a zygote from any process that holds it (a pidfd reaches exactly that one)."""
    if launched.pidfd is not None or launched.parent == os.getpid():
        kill_sandbox(launched.proc, launched.pidfd)


def kill_sandbox(proc: subprocess.Popen, pidfd: int | None = None) -> None:
    """SIGKILL a zygote's outermost process (bubblewrap, where there is one) and its children.

    bubblewrap ties its first child's life to its own (PR_SET_PDEATHSIG) only partway through
    that child's set-up. Killed before then, it leaves the child behind for good: pid 1 of a
    namespace of its own, deaf to every signal but SIGKILL, waiting for a parent that is gone
    (4 times in 26 when killed 0-30 ms after its start). So the outer process is stopped first,
    which keeps it from starting any child and from reaping one (so their pids stay theirs),
    then its children are killed, then it is. Children are looked for only while its own pid
    is surely still its own: a `pidfd` (a handle on exactly it) took the signal, or, without
    one, `proc` has not been reaped (nothing in the grader reaps but Popen). They are read
    once it has stopped (`_wait_stopped`), not as soon as the signal is sent."""

    def send(sig: int) -> bool:
        try:
            if pidfd is not None:
                signal.pidfd_send_signal(pidfd, sig)
            elif proc.returncode is None:
                os.kill(proc.pid, sig)
            else:
                return False
        except OSError:
            return False
        return True

    if send(signal.SIGSTOP):
        _wait_stopped(proc.pid)
        for child in children_of(proc.pid):
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
    send(signal.SIGKILL)


def _wait_stopped(pid: int, seconds: float = 2.0) -> None:
    """Wait until `pid` has stopped or ended (at most `seconds`). A SIGSTOP that lands while
    the process is inside fork() lets the fork finish: the new child joins its list of children
    only then, after a list read at once had missed it, and outlived the kill (1 launch in 300
    killed 0-30 ms after its start; the CI's suite caught one)."""
    deadline = time.monotonic() + seconds
    while _state_of(pid) not in (None, "T", "t", "Z", "X") and time.monotonic() < deadline:
        time.sleep(0.0002)


def _state_of(pid: int) -> str | None:
    """The one-letter state /proc/PID/stat gives (None where it is gone or unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Linux; none where /proc cannot tell)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    found: list[int] = []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(child) for child in f.read().split()]
        except OSError:  # a kernel without the list: read every process's parent
            return [p for p in _all_pids() if _parent_of(p) == pid]
    return found


def _all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _let_go(launched: Launched, stderr: bool = True) -> None:
    """Close this process's copies of a zygote's control socket and (`stderr`) stderr pipe."""
    with contextlib.suppress(OSError):
        launched.ctl.close()
    with contextlib.suppress(OSError, ValueError):
        if stderr and launched.proc.stderr is not None:
            launched.proc.stderr.close()
