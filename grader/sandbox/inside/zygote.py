"""A clean, pre-warmed process that forks one student process per exercise file on request.

Importing torch costs seconds; forking a process that already has it costs milliseconds. The
zygote is started fresh (never forked from the grader), so what its children inherit is torch
and this folder, nothing of the grader's references. It runs inside the outer sandbox (bubblewrap
where available); every child then closes the door further behind itself: its own session, its
own empty working directory, resource limits, an unprivileged user where the zygote is root.

Protocol on the control socket (fd in NINJA_ZYGOTE_FD): the grader sends {"op": "spawn",
"limits": {...}} with two file descriptors attached (the child's socket and the write end of its
output pipe); the zygote answers {"pid": ...}.
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import resource
import signal
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import protocol  # noqa: E402
import worker  # noqa: E402


def warm_up() -> None:
    """Import what student code may import and touch the kernels once, so children start hot."""
    import math  # noqa: F401

    import numpy  # noqa: F401
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)  # before any fork: a forked OpenMP pool can deadlock
    torch.set_num_interop_threads(1)
    x = torch.randn(8, 8, dtype=torch.float64)
    y = (x @ x.T).tanh().exp().log1p().sum(0, keepdim=True) ** -0.5
    F.cross_entropy(x, torch.zeros(8, dtype=torch.long))
    F.one_hot(torch.arange(3), 3).float() @ y[:, :3].T.float()
    torch.zeros(3, 2).index_add_(0, torch.tensor([0, 0]), torch.ones(2, 2))


def main() -> None:
    ctl = socket.socket(fileno=int(os.environ["NINJA_ZYGOTE_FD"]))
    warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    protocol.send(ctl, {"ready": True, "pid": os.getpid()})
    while True:
        msg, fds = _recv_with_fds(ctl)
        if msg is None:
            return
        if msg.get("op") == "kill":
            _kill(msg.get("pid"))
            protocol.send(ctl, {"killed": True})
            continue
        pid = os.fork()
        if pid == 0:
            _become_worker(ctl, msg.get("limits", {}), fds)
        for fd in fds:
            os.close(fd)
        protocol.send(ctl, {"pid": pid})


def _kill(pid) -> None:
    if type(pid) is not int or pid <= 1:
        return
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def _recv_with_fds(ctl: socket.socket) -> tuple[dict | None, list[int]]:
    fds = array.array("i")
    data, ancdata, _, _ = ctl.recvmsg(1 << 16, socket.CMSG_SPACE(2 * fds.itemsize))
    if not data:
        return None, []
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    return json.loads(data), list(fds)


def _become_worker(ctl: socket.socket, limits: dict, fds: list[int]) -> None:
    code = 0
    try:
        sock_fd, out_fd = fds
        ctl.close()
        os.setsid()  # its own session and process group: the grader kills the group as a whole
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        os.chdir(_private_dir(limits.get("uid")))
        _drop_privileges(limits.get("uid"), limits.get("gid"))
        _set_limits(limits)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        worker.serve(socket.socket(fileno=sock_fd))
    except BaseException:  # noqa: BLE001 - the child must never return into the zygote's loop
        code = 1
    finally:
        os._exit(code)


def _private_dir(uid: int | None) -> str:
    path = tempfile.mkdtemp(prefix="student-")
    if uid is not None and os.getuid() == 0:
        os.chown(path, uid, -1)
    return path


def _drop_privileges(uid: int | None, gid: int | None) -> None:
    if os.getuid() != 0 or uid is None:
        return
    os.setgroups([])
    os.setgid(gid if gid is not None else uid)
    os.setuid(uid)


def _set_limits(limits: dict) -> None:
    """Resource limits the kernel enforces, whatever the student's code does afterwards."""
    table = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "address_space": resource.RLIMIT_AS,
        "file_size": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
        "processes": resource.RLIMIT_NPROC,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, rlimit in table.items():
        value = limits.get(key)
        if value is not None:
            if key == "address_space":
                value += _address_space_now()
            resource.setrlimit(rlimit, (value, value))


def _address_space_now() -> int:
    """Torch maps memory it never touches: the limit is headroom above what is mapped already."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


if __name__ == "__main__":
    main()
