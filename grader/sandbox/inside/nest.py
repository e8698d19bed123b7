"""One torch import for several zygotes: a sandbox of its own for each, nested in bubblewrap's.

A batch with `-j N` grades with N grader processes, each with its zygote. Started apart, the N
zygotes import torch N times, all at once with the batch's own import on the same cores: about
a second of a class of 100 on two cores. Started here, one process (the mother) imports torch
once and forks one zygote per grader process, and each of them builds itself, before anything
else, the walls that a bubblewrap of its own would have given it:

- its own mount namespace, with its own /tmp (a tmpfs capped in bytes and files, as tmpfs.py
  makes it) and its own /proc: a student filling /tmp fills it for its own grader process only;
- its own process namespace, of which it is pid 1: its end kills its students and nobody
  else's, and its students see no process of the other zygote;
- its own IPC, network and UTS namespaces;

then it drops CAP_SYS_ADMIN and CAP_SETPCAP for good (tmpfs.drop_admin) and serves its own
control socket, as a zygote started alone does. The mother keeps the capabilities but holds no
control socket, runs no student code and only waits for its children; it is bubblewrap's pid 1,
so its end (the grader's end: --die-with-parent) kills every zygote and student in the sandbox.

Used only as root inside bubblewrap (where tmpfs.py would otherwise run); everywhere else each
grader process starts a sandbox of its own. Standard library only: this file runs inside.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
from collections.abc import Callable

import confine
import tmpfs

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18


def serve_each(ctls: list[int], nest: dict, serve: Callable[[socket.socket], None]) -> None:
    """Fork one walled-off zygote per control socket (`serve` is its life), then wait for all.

    `nest`: {"tmp": [bytes, files], "cpus": [cpu or None per zygote]}."""
    size, files = nest["tmp"]
    cpus = nest.get("cpus") or [None] * len(ctls)
    for fd, cpu in zip(ctls, cpus, strict=True):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for other in ctls:
                    if other != fd:
                        os.close(other)
                code = _walled_off(fd, lambda fd=fd, cpu=cpu: _zygote(fd, cpu, size, files, serve))
            except BaseException:  # noqa: BLE001 - never return into the mother's loop
                code = 1
            finally:
                os._exit(code)
    for fd in ctls:  # the mother talks to nobody: each socket is its zygote's alone
        os.close(fd)
    while True:  # bubblewrap's pid 1: reap its children, and any orphan handed to it, to the last
        try:
            os.wait()
        except ChildProcessError:
            return


def _walled_off(fd: int, life: Callable[[], None]) -> int:
    """Run `life` as pid 1 of fresh namespaces; returns its exit code once it has ended. This
    process lets go of the zygote's socket `fd` at once, so that the grader sees the zygote's
    end when it comes, not this process's."""
    confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)  # dies with the mother
    _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS))
    # Mounts made from here on stay in this namespace, whatever bubblewrap's propagation was.
    _check(_libc().mount(None, b"/", None, MS_REC | MS_PRIVATE, None))
    pid = os.fork()  # the first process forked into the new process namespace is its pid 1
    if pid == 0:
        code = 1
        try:
            life()
            code = 0
        except BaseException:  # noqa: BLE001 - never return into the loop above
            code = 1
        finally:
            os._exit(code)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _zygote(fd: int, cpu: int | None, size: int, files: int, serve) -> None:
    confine.prctl(confine.PR_SET_PDEATHSIG, signal.SIGKILL)
    tmpfs.mount_tmp(size, files)
    # /proc as this process namespace sees it: its own processes only, and each student process
    # only itself there (tmpfs.hide_processes says why).
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    _check(_libc().mount(b"proc", b"/proc", b"proc", flags, tmpfs.HIDEPID))
    tmpfs.drop_admin()
    os.chdir("/tmp")
    if cpu is not None:
        with contextlib.suppress(OSError):  # pinning only saves time (launch.cpu_for)
            os.sched_setaffinity(0, {cpu})
    serve(socket.socket(fileno=fd))


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
