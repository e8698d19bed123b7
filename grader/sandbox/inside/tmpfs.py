"""Start the zygote on a /tmp that caps files (inodes) as well as bytes: bubblewrap, as root.

bubblewrap's `--tmpfs` takes a size but no inode count, and a student process can fill a tmpfs
with empty files: each costs unreclaimable kernel memory, none costs a byte of its size. Run as
root inside bubblewrap, which keeps CAP_SYS_ADMIN and CAP_SETPCAP for this one step, this
launcher mounts a fresh tmpfs over /tmp with `size` and `nr_inodes`, removes both capabilities
from every set (bounding, inheritable, ambient; permitted and effective follow at exec), checks
they are gone, and execs the zygote, which can never get them back.

What bubblewrap bound below /tmp (Python and its packages, for a checkout made by `mktemp -d`)
is bound again on top of the new tmpfs, which would otherwise hide it: each such mount is held
by a descriptor across the new mount and bound back at its path with its submounts (the tmpfs
that hides the grader's files inside it) and its flags (read-only).

    python tmpfs.py SIZE_BYTES INODES python -I -B /sandbox/zygote.py

Standard library only: this file runs inside the sandbox.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC = 4096, 16384
# A mount's per-mount options in /proc/self/mountinfo, and their mount(2) flags.
_MOUNT_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
CAP_SETPCAP, CAP_SYS_ADMIN = 8, 21
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _check(ok: bool, what: str) -> None:
    if not ok:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount_tmp(size: int, inodes: int) -> None:
    """A capped tmpfs over /tmp, and what was bound below /tmp bound back on top of it."""
    libc = ctypes.CDLL(None, use_errno=True)
    below = [
        (path, flags, os.open(path, os.O_PATH | os.O_CLOEXEC))
        for path, flags in _mounts_below("/tmp")
    ]
    opts = f"size={size},nr_inodes={inodes},mode=0711".encode()
    _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, opts) == 0, "mount")
    for path, flags, fd in below:
        _bind_back(libc, path, flags, fd)
        os.close(fd)


def _mounts_below(top: str) -> list[tuple[str, int]]:
    """The outermost mounts strictly below `top`, with their per-mount flags: the others
    (a tmpfs hiding the grader inside a bound prefix) come back with them (MS_REC)."""
    found: dict[str, int] = {}
    # Read as bytes: a path that is not UTF-8 (anywhere, the sandbox's source included) would
    # stop a text read, and with it the capped /tmp; os.fsdecode keeps such a path usable.
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            fields = line.split()
            point = os.fsdecode(_unescape(fields[4]))
            if point.startswith(top + "/"):
                opts = fields[5].decode("ascii", "replace").split(",")
                found[point] = sum(flag for name, flag in _MOUNT_FLAGS.items() if name in opts)
    return [
        (point, flags)
        for point, flags in sorted(found.items())
        if not any(point.startswith(other + "/") for other in found)
    ]


def _unescape(field: bytes) -> bytes:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    for code, char in ((b"\\040", b" "), (b"\\011", b"\t"), (b"\\012", b"\n"), (b"\\134", b"\\")):
        field = field.replace(code, char)
    return field


def _bind_back(libc: ctypes.CDLL, path: str, flags: int, fd: int) -> None:
    """Bind the mount held by `fd` at `path` on the new /tmp, made as bubblewrap made it."""
    parent = os.path.dirname(path)
    os.makedirs(parent, mode=0o755, exist_ok=True)  # traversable, as bubblewrap's --perms made it
    if os.path.isdir(f"/proc/self/fd/{fd}"):
        os.makedirs(path, mode=0o755, exist_ok=True)
    else:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    source, target = f"/proc/self/fd/{fd}".encode(), os.fsencode(path)
    _check(libc.mount(source, target, None, MS_BIND | MS_REC, None) == 0, f"bind {path!r}")
    remount = MS_REMOUNT | MS_BIND | flags
    _check(libc.mount(None, target, None, remount, None) == 0, f"remount {path!r}")


def drop_admin() -> None:
    """CAP_SYS_ADMIN and CAP_SETPCAP out of every capability set of this process, for good."""
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0, "ambient")
    for cap in (CAP_SYS_ADMIN, CAP_SETPCAP):  # CAP_SETPCAP last: it is what allows the drop
        _check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0, f"drop capability {cap}")
    header, data = _Header(_LINUX_CAPABILITY_VERSION_3, 0), (_Data * 2)()
    _check(libc.capget(ctypes.byref(header), data) == 0, "capget")
    mask = ~((1 << CAP_SYS_ADMIN) | (1 << CAP_SETPCAP)) & 0xFFFFFFFF
    data[0].effective &= mask
    data[0].permitted &= mask
    data[0].inheritable &= mask
    _check(libc.capset(ctypes.byref(header), data) == 0, "capset")
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.startswith("Cap") and int(value, 16) & (1 << CAP_SYS_ADMIN):
                raise OSError(f"CAP_SYS_ADMIN is still in {key}")


def hide_processes(proc: bytes = b"/proc") -> None:
    """Each process sees only its own in /proc (`hidepid=2`), as each student has a uid of its
    own here: bubblewrap's /proc listed the zygote and every student process of the submission,
    and each one's page faults and CPU time (/proc/PID/stat), which any uid may read. Without
    Landlock (which closes /proc), a student process read its sibling's page faults: exercise 1's
    process touched N pages, exercise 2's read N. Best effort: a student process checks what it
    sees (zygote._others_hidden), and the result says so. It hides processes, not the machine's
    own counters (/proc/meminfo's shared memory carried a count from one student process to
    another), so without Landlock the grader reports `exchange` missing all the same."""
    libc = ctypes.CDLL(None, use_errno=True)
    flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC
    with contextlib.suppress(OSError):
        _check(libc.mount(b"proc", proc, b"proc", flags, HIDEPID) == 0, "remount /proc")


# Every process of another uid invisible in /proc and its entries unreadable (since Linux 3.3).
HIDEPID = b"hidepid=2"


def main(argv: list[str]) -> None:
    size, inodes, *command = argv
    mount_tmp(int(size), int(inodes))
    hide_processes()
    drop_admin()
    os.chdir("/tmp")  # bubblewrap left the process in the /tmp this mount now covers
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
