"""The grader's handle on student processes: start them, load files, call functions, kill them.

Everything the student process says is data: a framed JSON header and raw tensor bytes, decoded
here against whitelists and size limits. A student process that dies, hangs past its time limit
or floods its output costs only the call it was making; the session spawns a fresh one from
the `Zygote` for the next.
"""

from __future__ import annotations

import array
import contextlib
import copy
import importlib.machinery
import json
import multiprocessing.util
import os
import re
import secrets
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from . import framing, launch
from .inside import confine, protocol, reach
from .isolation import Isolation, detect, kept_out, reads_reach
from .launch import protect_trusted_process  # noqa: F401 - part of this module's API
from .memory import FLOOR, Cgroup, container_memory

# Bytes of call requests sent ahead of their answers. Far below a socket's buffer (about 200 KB
# on Linux), so a request never waits to be sent while the student's process waits to answer.
CALL_WINDOW = 64 * 1024
# The most entries of a returned list or dict the grader builds. An honest one holds a
# function's few gradients (exercise 3's seven) or, by mistake, a tensor per row (the hidden
# n = 100); the 1 MiB header holds about 12,000 empty tensors, and a file returning that many
# from every call had each grader process grow by 360 MB (a dict of 5,500: 500 MB) while
# its public answers waited to be judged. Past it, the answer is named, not built.
MAX_ENTRIES = 256
# The most source a process is handed to compile and run. Uploads stop at 1 MiB a file by
# default; this bounds what a TA's higher limit, or a caller handing bytes directly, can give.
MAX_SOURCE_BYTES = 8 << 20


@dataclass(frozen=True)
class Limits:
    """What one student process may use. Generous for gradients of a 32x64 MLP, fatal for bombs."""

    call_seconds: float = 10.0
    import_seconds: float = 20.0
    cpu_seconds: int = 300
    memory_bytes: int = 1 << 30  # above what torch already maps
    # No byte in any file (RLIMIT_FSIZE 0): nothing in a student process needs to write one,
    # and the audit hook sees only Python's opens, not torch's C++ (torch.from_file shared,
    # torch.save). Where Landlock is missing, those wrote a native library that imported as
    # an extension module switched grad mode back on (red team); this limit holds on every
    # platform, under every layer, for writes, truncates, fallocate and copies alike.
    file_size: int = 0
    open_files: int = 64
    processes: int = 0  # no fork, no threads beyond its own: nothing can outlive grading
    output_bytes: int = 16_000
    # One answer's tensor bytes. The lecture's largest answer is ~50 KB (float64 at the hidden
    # n = 100); the grader holds a file's public answers until they are judged, and at 64 MiB
    # an answer a red team's submission of oversized answers held 5 GB in the grader.
    result_bytes: int = 4 << 20
    # Student processes of the command that can be alive at once (the files of a grading times
    # the grader processes grading at once): in a container they share its memory evenly
    # (memory.Cgroup.room), so that no student's processes can push it to the OOM killer, whose
    # victim, the largest student process, could be another student's.
    processes_at_once: int = 1

    def report(self) -> dict:
        """The limits as result.json states them (a student process that cannot set one of
        them refuses to run student code, so these are the limits in force)."""
        return {
            "call_seconds": self.call_seconds,
            "import_seconds": self.import_seconds,
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes_above_torch": self.memory_bytes,
            "file_size_bytes": self.file_size,
            "open_files": self.open_files,
            "processes": self.processes,
            "output_bytes": self.output_bytes,
            "result_bytes": self.result_bytes,
        }

    def headroom(self, cgroup: Cgroup | None) -> int:
        """`memory_bytes`, cut to this process's share of what the container's memory cgroup
        has left (memory.py): a process that asks for more gets a MemoryError, not the
        container's OOM killer, and the `processes_at_once` together fit in what was left."""
        if cgroup is None:
            return self.memory_bytes
        return min(self.memory_bytes, cgroup.room(self.processes_at_once))

    def for_zygote(self, address_space: int) -> dict:
        """The kernel-enforced limits a student process sets on itself before running code;
        `address_space`, the headroom, is the sandbox's, taken once (Zygote.__init__)."""
        return {
            "cpu_seconds": self.cpu_seconds,
            "address_space": address_space,
            "file_size": self.file_size,
            "open_files": self.open_files,
            "processes": self.processes,
        }


@dataclass
class NotATensor:
    """What a student function returned when it was not a tensor (only its type name crosses)."""

    type_name: str


@dataclass
class Reply:
    """The outcome of one request: ok with a value, or a kind of failure with a message."""

    ok: bool
    kind: str = ""  # not_implemented | error | timeout | missing | crash
    message: str = ""
    value: Any = None
    autograd: bool = False
    seconds: float = 0.0  # the call's own time, as the student's process measured it
    functions: dict[str, dict] = field(default_factory=dict)
    elapsed: float = 0.0  # from the call's start to its answer, on the grader's clock
    # The failure was an allocation refused for memory (worker.out_of_memory): a verdict the
    # process's memory share, not only the code, decides (session.py, `limits_reached`).
    memory: bool = False
    # The process never ran the student's code: the sandbox could not start it (`hello`), a
    # machine's failure (a fork refused, no word within its time on a loaded machine).
    unstarted: bool = False


def _memory_note(cgroup: Cgroup, limits: Limits) -> str:
    """The result's note on a headroom the container cut: how much, and why; where it is split,
    whether the shares together fit in what was left (not where the floor overrides them)."""
    at_once, each = limits.processes_at_once, limits.headroom(cgroup)
    split, fit = "", ""
    if at_once > 1:
        split = f", split between the {at_once} student processes that can run at once"
        fit = ", and together they fit in what was left"
        if cgroup.left() // at_once < FLOOR:
            fit = (
                f"; the split is below the {FLOOR >> 20} MiB any process is given, so together "
                "they may still reach the container's limit"
            )
    return (
        f"this container allows {cgroup.limit >> 20} MiB of memory in all: each student "
        "process may add at most what was left of it at the sandbox's start, less a margin"
        f"{split} ({each >> 20} MiB, instead of {limits.memory_bytes >> 20} MiB), so that a "
        f"process asking for more gets an out-of-memory error, not the OOM killer{fit}"
    )


class Zygote:
    """One warm, clean process per grader process; forks student processes in milliseconds."""

    def __init__(
        self,
        limits: Limits,
        iso: Isolation | None = None,
        *,
        huge_heap: bool = False,
        keep_out: Sequence[str | os.PathLike] = (),
        **layers,
    ) -> None:
        """`layers`: landlock=False, seccomp=False or audit_hook=False switch a layer off (to
        test the others without it). `huge_heap`: see `launch.HUGE_HEAP` (a prestarted zygote
        has what `launch.prestart` chose). `keep_out`: the paths the grading reads and writes
        (other students' uploads, the results), which no student process may be given a way
        to (isolation.zygote_config)."""
        self.limits = limits
        self._huge_heap = huge_heap
        self._keep_out = tuple(map(str, keep_out))
        self._base = iso or detect()
        self._prestartable = iso is None and not layers  # what launch.prestart built
        self._layers = layers
        self._lock = threading.Lock()  # one request at a time on the control socket
        self._spawning = threading.Lock()  # one restart, however many threads find it dead
        self._students: dict[int, _Handle] = {}  # started, not yet known to be dead
        self._cgroup: Cgroup | None = None  # taken once, as the sandbox is first ready
        self._memory_read = False
        self._start()
        # Closed when its process ends, a batch's worker processes included (they end without
        # closing their grader): the zygote and bubblewrap are then waited for, not left to init.
        multiprocessing.util.Finalize(self, _close_at_exit, (weakref.ref(self),), exitpriority=10)

    def _start(self) -> None:
        self.generation = getattr(self, "generation", 0) + 1  # pids of a dead zygote mean nothing
        self.iso = copy.deepcopy(self._base)
        launched = None
        if self.generation == 1 and self._prestartable:
            launched = launch.take()
        if launched is None:
            launched = launch.start_zygote(
                self.iso, self._layers, huge_heap=self._huge_heap, keep_out=self._keep_out
            )
        self._launched = launched
        self.iso, self.proc, self.ctl, trusted = launched[:4]
        # Read the zygote's stderr as it comes (a full pipe would stall it); keep the end.
        self._stderr = bytearray()
        self._stderr_reader = threading.Thread(
            target=self._read_stderr, args=(self.proc.stderr,), daemon=True
        )
        self._stderr_reader.start()
        try:
            ready, _ = protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 120)
        except (protocol.ProtocolError, TimeoutError) as e:
            self.close()
            if launched.nested:  # it could not wall itself off: a sandbox of our own instead
                return self._start()  # (a second generation never takes a prestarted one)
            self._stderr_reader.join(timeout=2)
            err = self._stderr.decode(errors="replace")
            raise RuntimeError(f"the sandbox could not start: {e}\n{err}") from None
        if self._exposes(launched, ready.get("reach")):
            self.close()
            return self._start()  # one of our own, told every path (never a prestarted one)
        self.withheld = _withheld(ready.get("reach"), launched.keep_out)
        layers = ready.get("layers")
        self.iso.observe(layers if isinstance(layers, dict) else {}, trusted, self.withheld)
        self.iso.limits = self.limits.report()
        if not self._memory_read:
            self._cgroup, self._memory_read = self._memory_now(), True
        self._note_memory()

    def _memory_now(self) -> Cgroup | None:
        """The container's memory now that this sandbox is ready (torch imported on both sides)
        and before any of its student processes ran: the command's reading (launch's
        memory_at_start: a batch's forked grader processes share one) for a default sandbox,
        this one's own for a sandbox made with other layers (tests). Taken again at each spawn,
        the headroom followed what the other student processes held (the cgroup counts them),
        and a process read another's megabytes in its own limit (getrlimit); a restarted
        zygote keeps it."""
        if self._prestartable:
            return launch.memory_at_start(container_memory)
        return container_memory()

    def _exposes(self, launched: launch.Launched, report: object) -> bool:
        """Whether a zygote launched without some of our paths to keep out (`launch.prestart`,
        called before they were known) lets student code read one of them: one inside the
        system's or Python's folders, which bubblewrap binds and Landlock allows, with no cover
        over it (isolation.zygote_config), or one its ways in lead to. Where
        neither reaches one, it exposes nothing and is kept: the prestart's head start is
        lost only where it would cost a leak."""
        missing = set(kept_out(self._keep_out)) - set(launched.keep_out)
        if not missing:
            return False
        if reads_reach(sorted(missing)):
            return True  # inside what it binds and lets student code read, with no cover
        exposed = report.get("exposed") if isinstance(report, dict) else None
        if not isinstance(exposed, list):
            return True  # it did not say: assume the worst
        regions = [r for r in exposed if isinstance(r, str)]
        return any(reach.overlap(region, path) for region in regions for path in missing)

    def withheld_module(self, name: str) -> bool:
        """Whether `name` is a module of an installation this zygote left student processes
        no way to (inside/reach.py): installed, and importable on a machine set up as
        docs/threat-model.md says, but out of a student process's reach on this one."""
        paths = [p for w in self.withheld for p in w.get("paths", []) if isinstance(p, str)]
        return bool(paths) and _MODULE.fullmatch(name) is not None and _findable(name, paths)

    def _note_memory(self) -> None:
        cgroup = self._cgroup
        headroom = self.limits.headroom(cgroup)
        if cgroup is None or headroom >= self.limits.memory_bytes:
            return
        self.iso.limits["memory_bytes_above_torch"] = headroom
        self.iso.notes.append(_memory_note(cgroup, self.limits))

    def _read_stderr(self, pipe) -> None:
        with contextlib.suppress(OSError, ValueError), pipe:
            while chunk := pipe.read1(4096):
                self._stderr = (self._stderr + chunk)[-4000:]

    def alive(self) -> bool:
        if self._launched.nested:  # the process outlives this zygote: its socket tells
            return not _hung_up(self.ctl)
        if self._launched.pidfd is not None:  # also where it was adopted: not our child
            return not launch.ended(self._launched.pidfd)
        return self.proc.poll() is None

    def revive(self) -> None:
        """Restart the zygote if it has died (killed, out of memory), before a grading starts:
        one that ends during a grading is then surely the grading's to notice (Grader.grade)."""
        with self._spawning:
            if not self.alive():
                self.close()
                self._start()

    def spawn(self) -> StudentProcess:
        """A fresh student process; a zygote that died (killed, out of memory) is restarted."""
        with self._spawning:
            return self._spawn_or_restart()

    def _spawn_or_restart(self) -> StudentProcess:
        for attempt in (1, 2):
            if not self.alive():
                self.close()
                self._start()
            try:
                return self._spawn()
            except (OSError, protocol.ProtocolError, TimeoutError):
                if attempt == 2:
                    raise
                self.close()
        raise AssertionError("unreachable")

    def _spawn(self) -> StudentProcess:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_r, out_w = os.pipe()
        try:
            limits = self.limits.for_zygote(self.limits.headroom(self._cgroup))
            request = {"op": "spawn", "limits": limits}
            with self._lock:
                _send_with_fds(self.ctl, request, [theirs.fileno(), out_w])
                header, _ = protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 30)
        except BaseException:
            ours.close()
            os.close(out_r)
            raise
        finally:
            theirs.close()
            os.close(out_w)
        if type(header.get("pid")) is not int:
            raise protocol.ProtocolError(str(header.get("error", "the zygote refused to spawn")))
        handle = _Handle(launch.pidfd_of(header["pid"]) if not self.iso.bubblewrap else None)
        self._students[header["pid"]] = handle
        process = StudentProcess(self, header["pid"], ours, out_r, self.limits)
        process.generation = self.generation
        process.hello()
        if process.layers.get("dropped_to_fresh_uid") is True:
            handle.uid = process.layers.get("uid")
        return process

    def kill(self, pid: int, generation: int | None = None) -> None:
        """Kill a student's whole session from inside the sandbox's own process namespace; where
        the zygote cannot confirm it (it died, or did not answer), the grader kills it itself.
        A pid from before a restart is not passed on: in the new zygote it is someone else."""
        if generation not in (None, self.generation):
            return  # its zygote's close() already killed it
        confirmed = False
        if self.alive():
            with self._lock:
                try:
                    _send_with_fds(self.ctl, {"op": "kill", "pid": pid}, [])
                    answer, _ = protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 10)
                    confirmed = answer.get("killed") is True
                except (OSError, protocol.ProtocolError, TimeoutError):
                    self.close()
        handle = self._students.pop(pid, None)
        if handle is not None:
            handle.kill(thorough=not confirmed)

    def status(self) -> dict:
        """The zygote's leftovers: student processes not yet killed, folders not yet removed.
        The answer waits behind a removal the zygote is still making, as a spawn's does (hence
        the spawn's 30 s): a 3,000-deep tree took past 10 s on a 2-core machine at load 8."""
        with self._lock:
            _send_with_fds(self.ctl, {"op": "status"}, [])
            answer, _ = protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 30)
        return {"children": answer.get("children"), "folders": answer.get("folders")}

    def heap(self) -> dict:
        """Whether the zygote's heap is on huge pages (`launch.HUGE_HEAP`), and how many of its
        objects are frozen out of the collector's reach (zygote._freeze_heap), for tests and
        benchmarks: {"marked_huge": bool, "huge_kb": int, "frozen": int}."""
        with self._lock:
            _send_with_fds(self.ctl, {"op": "heap"}, [])
            answer, _ = protocol.recv(self.ctl, max_bytes=0, deadline=time.monotonic() + 10)
        return answer

    def close(self) -> None:
        """Let the zygote end by itself (it kills its students and removes their folders); kill
        it if it does not."""
        try:
            self.ctl.close()
        finally:
            self._wait_or_kill(seconds=3)
            # A student process that outlived its zygote (one that cleared its parent-death
            # signal where seccomp is off, while the zygote was killed) dies here.
            while self._students:
                self._students.popitem()[1].kill(thorough=True)

    def _wait_or_kill(self, seconds: float) -> None:
        launched = self._launched
        if launched.nested:
            # Its socket is closed: it kills its students and ends, and its process namespace
            # with it. The process it was forked from serves other grader processes and is
            # reaped by the one that launched it (launch.reap); ours are killed by uid below.
            pass
        elif launched.parent == os.getpid():
            try:
                self.proc.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                launch.kill_sandbox(self.proc, launched.pidfd)
                self.proc.wait()
        elif launched.pidfd is not None and not launch.ended(launched.pidfd, seconds):
            # Adopted from the process that launched it, which reaps it (launch.reap).
            launch.kill(launched)
            launch.ended(launched.pidfd, seconds)
        if launched.pidfd is not None:
            os.close(launched.pidfd)
            self._launched = launched._replace(pidfd=None)


def _withheld(report: object, kept: Sequence[str]) -> list[dict]:
    """The zygote's list of installations it left without a way in (inside/zygote.py), each
    with the path it would have reached named: the zygote, told the paths `kept` by identity
    only (isolation.kept_identities), says which by its place there."""
    found = report.get("withheld") if isinstance(report, dict) else None
    entries = [w for w in found if isinstance(w, dict)] if isinstance(found, list) else []
    return [dict(w, reaches=_named(w.get("reaches"), kept)) for w in entries]


def _named(place: object, kept: Sequence[str]) -> str:
    return kept[place] if type(place) is int and 0 <= place < len(kept) else "?"


_MODULE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


def _findable(name: str, paths: list[str]) -> bool:
    """Whether the import system would find module `name` (dotted) under `paths`, package by
    package; nothing is imported, only folders listed (as root, which reaches them)."""
    parts = name.split(".")
    search: list[str] | None = paths
    for depth in range(1, len(parts) + 1):
        if not search:
            return False
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[:depth]), search)
        if spec is None:
            return False
        search = list(spec.submodule_search_locations or [])
    return True


def _hung_up(ctl: socket.socket) -> bool:
    """Whether the other end of a zygote's control socket is gone. A zygote speaks only when
    asked, so between requests its socket is readable only once it has closed."""
    try:
        if not select.select([ctl], [], [], 0)[0]:
            return False
        return ctl.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):  # closed on our side, or reset
        return True


def _close_at_exit(ref: weakref.ref) -> None:
    zygote = ref()
    if zygote is not None:
        zygote.close()


@dataclass
class _Handle:
    """What the grader itself holds on a student process, to kill it without the zygote: a
    pidfd (same process namespace only) and its fresh uid (when the grader is root)."""

    pidfd: int | None
    uid: int | None = None

    def kill(self, thorough: bool) -> None:
        if self.pidfd is not None:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            os.close(self.pidfd)
            self.pidfd = None
        if thorough and type(self.uid) is int:
            kill_uid(self.uid)


def kill_uid(uid: int) -> None:
    """SIGKILL every process of a student uid, wherever it went: a helper process becomes that
    uid and calls kill(-1), which reaches exactly the processes of its own uid. Root only, and
    only for the fresh uids handed to student processes (never the grader's or a real user's)."""
    if os.getuid() != 0 or not confine.UID_BASE <= uid < confine.UID_BASE + confine.UID_SPAN:
        return
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only makes system calls, then leaves
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def _send_with_fds(sock: socket.socket, header: dict, fds: list[int]) -> None:
    """One framed message to the zygote, with file descriptors riding on its first byte."""
    data = json.dumps(header).encode()
    frame = protocol._LEN.pack(len(data)) + data
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sent = sock.sendmsg([frame], ancillary)
    if sent < len(frame):
        sock.sendall(frame[sent:])


class StudentProcess:
    """One student process, holding one student's exercise file."""

    def __init__(self, zygote: Zygote, pid: int, sock: socket.socket, out_fd: int, limits: Limits):
        self.zygote, self.pid, self.sock, self.limits = zygote, pid, sock, limits
        self.channel = protocol.Channel(sock)
        self.dead = False
        self.generation: int | None = None  # of the zygote that started it
        self.layers: dict = {}
        self._why_dead = ""
        self._earlier: set[str] = set()
        self._told_to_exit = False
        self._output = bytearray()
        self._dropped = 0
        self._drain = threading.Thread(target=self._read_output, args=(out_fd,), daemon=True)
        self._drain.start()

    def hello(self) -> None:
        """The process's first words: which layers it put in force, or why it could not."""
        try:
            answer, _ = self.channel.recv(max_bytes=0, deadline=time.monotonic() + 30)
        except (OSError, protocol.ProtocolError, TimeoutError) as e:
            answer = {"hello": False, "error": f"no word from the new process ({e})"}
        if answer.get("hello") is True and isinstance(answer.get("layers"), dict):
            self.layers = answer["layers"]
            return
        self._why_dead = (
            "the grader's sandbox could not start a process for your code (not your code's "
            f"fault; your TA has been told): {str(answer.get('error'))[:500]}"
        )
        self.kill()

    def _read_output(self, fd: int) -> None:
        """Keep the first bytes of the student's prints, count the rest, never block the student."""
        with os.fdopen(fd, "rb", buffering=0) as f:
            while chunk := f.read(65536):
                room = self.limits.output_bytes - len(self._output)
                self._output += chunk[: max(room, 0)]
                self._dropped += max(len(chunk) - max(room, 0), 0)

    def output(self) -> str:
        """What the student's code printed so far, cut to size (read after the process ended)."""
        text = self._output.decode("utf-8", errors="replace")
        if self._dropped:
            text += f"\n... [{self._dropped} more bytes of output were cut]"
        return text

    def load(self, module: str, source: str) -> Reply:
        # The source travels as bytes, not in the JSON header: escaped there, a file within the
        # upload's limit (800 KB of comment lines, or of non-ASCII text) passed the header's
        # 1 MiB, and the refused load read as the student's code ending without an answer.
        data = source.encode("utf-8", "surrogatepass")
        if len(data) > MAX_SOURCE_BYTES:
            return Reply(
                False,
                "error",
                f"the file is {len(data) / (1 << 20):.1f} MiB of source; the grader runs files "
                f"of up to {MAX_SOURCE_BYTES >> 20} MiB",
            )
        return self._request({"op": "load", "module": module}, [data], self.limits.import_seconds)

    def call(self, module: str, func: str, args: dict[str, Any], positional: list[str]) -> Reply:
        return self.call_each(module, func, [(args, positional)])[0]

    def call_each(
        self,
        module: str,
        func: str,
        calls: list[tuple[dict[str, Any], list[str]]],
        stop_at: float | None = None,
    ) -> list[Reply]:
        """`func` called once per (arguments, positional names), in order, as separate calls
        would be: each with fresh copies of its arguments and its own time limit, counted from
        the moment the process could start it (its request sent, the previous answer in).

        The requests go out ahead of their answers, a window of them at a time, so the process
        goes from one call to the next without waiting for the grader (a round trip costs both
        sides more than a call of the lecture's sizes). The list stops at the first call that
        timed out or lost the process, or when `stop_at` (time.monotonic()) has passed: the
        caller makes the rest again, in a fresh process where it would have.
        """
        if self.dead:
            return [self._dead_reply()]
        requests = [self._call_request(module, func, a, p) for a, p in calls]
        seconds = self.limits.call_seconds
        replies: list[Reply] = []
        sent, in_flight, sent_at, answered_at = 0, 0, [], 0.0
        gone: OSError | None = None  # why a request sent ahead could not be sent
        try:
            while len(replies) < len(requests):
                # Within the window the socket's buffer holds every request, so sending never
                # waits for the student; beyond it, one request at a time as before.
                while (
                    sent < len(requests)
                    and gone is None
                    and (sent == len(replies) or in_flight + len(requests[sent][1]) <= CALL_WINDOW)
                ):
                    try:
                        # A process that stops reading times out.
                        self.channel.send_frame(requests[sent][1], time.monotonic() + seconds)
                    except (BrokenPipeError, ConnectionResetError) as e:
                        if sent == len(replies):
                            raise
                        # The process ended after it had read earlier requests: their answers
                        # may wait in the socket, and the first one missing is the crash's.
                        gone = e
                        break
                    in_flight += len(requests[sent][1])
                    sent_at.append(time.monotonic())
                    sent += 1
                k = len(replies)
                if gone is not None and k == sent:  # it answered all it read, then ended
                    raise gone
                start = max(sent_at[k], answered_at)  # when the process could begin call k
                answer, data = self._answer(requests[k][0], start + seconds)
                answered_at = time.monotonic()
                in_flight -= len(requests[k][1])
                replies.append(_to_reply(answer, data, elapsed=answered_at - start))
                # The next call's time counts from here: reading this answer is the grader's
                # time, which a slow read (or a forged answer made slow to read) must not take
                # out of the student's next call.
                answered_at = time.monotonic()
                if stop_at is not None and answered_at > stop_at and k + 1 < len(requests):
                    if sent > k + 1:
                        self.kill()  # calls already sent would run on: none of them is wanted
                    break
        except (OSError, protocol.ProtocolError) as e:  # TimeoutError is an OSError
            replies.append(self._lost(e, seconds))
        return replies

    def _call_request(self, module: str, func: str, args: dict, positional: list[str]):
        """(request id, the request's bytes) for one call."""
        return framing.call_request(module, func, args, positional)

    def _dead_reply(self) -> Reply:
        if self._why_dead:  # it never started (`hello`)
            return Reply(False, "crash", self._why_dead, unstarted=True)
        return Reply(False, "crash", "the process running your code had already ended")

    def _request(self, header: dict, blobs: list[bytes], seconds: float) -> Reply:
        if self.dead:
            return self._dead_reply()
        # A fresh id per request: an answer written ahead of time (straight onto the socket,
        # for a call not yet made) cannot carry it.
        request_id = secrets.token_hex(16)
        try:
            self.channel.send(dict(header, id=request_id), blobs, time.monotonic() + seconds)
            answer, data = self._answer(request_id, time.monotonic() + seconds)
        except (OSError, protocol.ProtocolError) as e:  # TimeoutError is an OSError
            return self._lost(e, seconds)
        return _to_reply(answer, data)

    def _lost(self, e: Exception, seconds: float) -> Reply:
        """The process is killed after a request went wrong; the reply says how it went wrong."""
        self.kill()
        if isinstance(e, TimeoutError):
            return Reply(False, "timeout", f"no answer within {seconds:g} s (an endless loop?)")
        if isinstance(e, (protocol.Closed, BrokenPipeError, ConnectionResetError)):
            return Reply(False, "crash", _CRASH)
        if isinstance(e, protocol.TooLarge):  # an honest answer can be this: say it plainly
            return Reply(
                False,
                "error",
                f"your function returned more than the grader reads from one call ({e}): a "
                "gradient has the shape of its variable, a few kB here; look for a broadcast "
                "that made the result far larger",
            )
        return Reply(False, "error", f"the process running your code sent something invalid: {e}")

    def _answer(self, request_id: str, deadline: float) -> tuple[dict, list[bytes]]:
        """The answer carrying `request_id`. Answers to earlier requests are passed over: student
        code that wrote its own answer onto the socket leaves the real one behind, and that one
        must not be taken for the answer to the next call."""
        while True:
            answer, data = self.channel.recv(max_bytes=self.limits.result_bytes, deadline=deadline)
            if answer.get("id") == request_id:
                self._earlier.add(request_id)
                return answer, data
            if answer.get("id") not in self._earlier:
                raise protocol.ProtocolError("an answer to a request that was never made")

    def kill(self) -> None:
        if not self.dead:
            self.dead = True
            self.zygote.kill(self.pid, self.generation)
            self.sock.close()
            self._drain.join(timeout=2)

    def say_goodbye(self) -> None:
        """Ask the process to end by itself (`close` then makes sure it did)."""
        if not self.dead and not self._told_to_exit:
            self._told_to_exit = True
            with contextlib.suppress(OSError):
                self.channel.send({"op": "exit"}, deadline=time.monotonic() + 1)

    def close(self) -> None:
        self.say_goodbye()
        self.kill()


_CRASH = (
    "the process running your code ended without answering (os._exit, sys.exit at import, "
    "a segmentation fault, or running out of memory or CPU time)"
)


def _to_reply(answer: dict, data: list[bytes], elapsed: float = 0.0) -> Reply:
    autograd = answer.get("autograd") is True
    if answer.get("ok") is not True:
        kind = answer.get("kind")
        kind = kind if kind in ("not_implemented", "error", "missing") else "error"
        memory = answer.get("memory") is True
        message = str(answer.get("message", ""))[:8000]
        return Reply(False, kind, message, autograd=autograd, memory=memory)
    if "functions" in answer:
        return Reply(True, functions=_functions(answer["functions"]))
    try:
        value = decode_value(answer.get("result"), data)
    except protocol.ProtocolError as e:
        return Reply(False, "error", f"the returned value could not be read: {e}")
    seconds = answer.get("seconds")
    return Reply(
        True,
        value=value,
        autograd=autograd,
        seconds=float(seconds) if type(seconds) in (int, float) and seconds >= 0 else 0.0,
        elapsed=elapsed,
    )


def _functions(raw: Any) -> dict[str, dict]:
    """The signatures a load reported, reduced to names and flags of the expected types."""
    if not isinstance(raw, dict):
        return {}
    out = {}
    for name, sig in raw.items():
        if not (isinstance(name, str) and name.isidentifier() and isinstance(sig, dict)):
            continue
        out[name] = {
            "params": _names(sig.get("params")),
            "varkw": sig.get("varkw") is True,
            "varargs": sig.get("varargs") is True,
            "positional_only": _names(sig.get("positional_only")),
            "defaulted": _names(sig.get("defaulted")),
        }
        if sig.get("unreadable") is True:
            out[name]["unreadable"] = True
    return out


def _names(raw: Any) -> list[str]:
    return (
        [n for n in raw if isinstance(n, str) and n.isidentifier()] if isinstance(raw, list) else []
    )


def decode_value(encoded: Any, data: list[bytes], depth: int = 0, used: set | None = None) -> Any:
    """Tensors, scalars, one level of dict or list; anything else becomes a NotATensor, and so
    does a list or dict of more than MAX_ENTRIES entries (named with its length, never built).

    Each blob makes one tensor at most (`used`: the blobs taken so far). An honest process sends
    a blob per tensor; a forged answer naming one 64 MiB blob from every entry of a list had the
    grader build a copy per entry, gigabytes from one answer, and could take the grader down."""
    used = set() if used is None else used
    if not isinstance(encoded, dict) or len(encoded) != 1:
        raise protocol.ProtocolError("malformed value")
    ((kind, body),) = encoded.items()
    if kind == "tensor":
        if not isinstance(body, dict):
            raise protocol.ProtocolError("malformed tensor")
        blob = body.get("blob")
        if blob == -1:
            return NotATensor(f"tensor of dtype {str(body.get('dtype'))[:40]}")
        if type(blob) is int and blob in used:
            raise protocol.ProtocolError("two tensors claim the same bytes")
        t = protocol.decode_tensor(body, data)
        used.add(blob)
        return (t, _dtype_name(body))
    if kind == "scalar":
        if body is None:
            return None
        # A float that is no number travels as its repr (JSON has none): `return float("nan")`
        # was told "returned a str", which the student never wrote and the public check calls
        # a float. Only the type name is read of a returned scalar.
        return NotATensor("float" if isinstance(body, str) else type(body).__name__)
    if kind == "object":
        return NotATensor(str(body)[:80])
    if (
        depth == 0
        and kind in ("dict", "list")
        and isinstance(body, list)
        and len(body) > MAX_ENTRIES
    ):
        noun = "list or tuple" if kind == "list" else kind  # a tuple travels as a list
        return NotATensor(f"{noun} of {len(body)} entries")
    if depth == 0 and kind == "dict" and isinstance(body, list):
        pairs = [p for p in body if isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)]
        return {k[:80]: decode_value(v, data, 1, used) for k, v in pairs}
    if depth == 0 and kind == "list" and isinstance(body, list):
        return [decode_value(v, data, 1, used) for v in body]
    raise protocol.ProtocolError("malformed value")


def _dtype_name(body: dict) -> str:
    """The dtype the student's tensor had: the wire dtype, or bfloat16 (which travels as float32).

    Checked against the wire dtype, so a forged answer cannot claim a dtype it did not send.
    """
    name, sent_as = body.get("dtype"), body.get("sent_as")
    if name == sent_as or (name == "bfloat16" and sent_as == "float32"):
        return name
    raise protocol.ProtocolError(f"tensor claims dtype {str(name)[:40]!r} but sent {sent_as!r}")


def warm_torch() -> None:
    """One thread before any fork (a forked OpenMP pool can deadlock) and the same on every run."""
    torch.set_num_threads(1)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
