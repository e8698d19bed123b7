"""Start the zygote on a /tmp that caps files (inodes) as well as bytes: bubblewrap, as root.

bubblewrap's `--tmpfs` takes a size but no inode count, and a student process can fill a tmpfs
with empty files: each costs unreclaimable kernel memory, none costs a byte of its size. Run as
root inside bubblewrap, which keeps CAP_SYS_ADMIN and CAP_SETPCAP for this one step, this
launcher mounts a fresh tmpfs over /tmp with `size` and `nr_inodes`, removes both capabilities
from every set (bounding, inheritable, ambient; permitted and effective follow at exec), checks
they are gone, and execs the zygote, which can never get them back.

    python tmpfs.py SIZE_BYTES INODES python -I -B /sandbox/zygote.py

Standard library only: this file runs inside the sandbox.
"""

from __future__ import annotations

import ctypes
import os
import sys

MS_NOSUID, MS_NODEV = 2, 4
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
    libc = ctypes.CDLL(None, use_errno=True)
    opts = f"size={size},nr_inodes={inodes},mode=0711".encode()
    _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, opts) == 0, "mount")


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


def main(argv: list[str]) -> None:
    size, inodes, *command = argv
    mount_tmp(int(size), int(inodes))
    drop_admin()
    os.chdir("/tmp")  # bubblewrap left the process in the /tmp this mount now covers
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
