"""Which isolation layers this machine allows, and the command that starts the zygote inside them.

Each layer is used where the platform allows it and named in every result when it is not, so a
TA can see at a glance that grading on a laptop without bubblewrap left the grader's files
readable to student code. See docs/threat-model.md for what each layer promises.
"""

from __future__ import annotations

import functools
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

INSIDE = Path(__file__).resolve().parent / "inside"
GRADER_PACKAGE = Path(__file__).resolve().parent.parent
SANDBOX_USERS = ("ninja-student", "nobody")

# Nothing of the grader's environment reaches student code but these.
CLEAN_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "HOME": "/tmp",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}


@dataclass
class Isolation:
    """The layers in force for this run (reported in result.json under `isolation`)."""

    bubblewrap: bool
    network: str  # "none (new namespace)" or why not
    filesystem: str
    user: str
    uid: int | None
    gid: int | None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("uid"), d.pop("gid")
        return d


@functools.lru_cache(maxsize=1)
def detect(allow_bubblewrap: bool = True) -> Isolation:
    notes: list[str] = []
    uid, gid, user = _sandbox_user()
    bwrap = allow_bubblewrap and _bubblewrap_works()
    if not bwrap:
        notes.append(
            "bubblewrap is not usable here: student code runs without a private filesystem view "
            "or network namespace (install the 'bubblewrap' package to add them)"
        )
    if uid is None and os.getuid() == 0:
        notes.append("running as root but no unprivileged user exists to run student code as")
    return Isolation(
        bubblewrap=bwrap,
        network="none (new network namespace)" if bwrap else "not isolated",
        filesystem="private (only Python, torch and an empty folder)" if bwrap else "shared",
        user=user,
        uid=uid,
        gid=gid,
        notes=notes,
    )


def _sandbox_user() -> tuple[int | None, int | None, str]:
    if os.getuid() != 0:
        return None, None, pwd.getpwuid(os.getuid()).pw_name
    for name in SANDBOX_USERS:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid, name
    return None, None, "root"


def _bubblewrap_works() -> bool:
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    try:
        probe = subprocess.run(
            [*_bwrap_args(exe), "--", sys.executable, "-I", "-c", "pass"],
            capture_output=True,
            timeout=30,
            env=CLEAN_ENV,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def zygote_command(iso: Isolation) -> list[str]:
    """`python zygote.py`, wrapped in bubblewrap when it works here."""
    inner = [sys.executable, "-I", "-B", str(_inside_path(iso) / "zygote.py")]
    if not iso.bubblewrap:
        return inner
    return [*_bwrap_args(shutil.which("bwrap")), "--", *inner]


def _inside_path(iso: Isolation) -> Path:
    return Path("/sandbox") if iso.bubblewrap else INSIDE


def _bwrap_args(exe: str) -> list[str]:
    """A root filesystem holding the system, Python, its packages and the sandbox runtime only."""
    args = [exe, "--die-with-parent", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-pid", "--new-session", "--proc", "/proc", "--dev", "/dev"]
    args += ["--tmpfs", "/tmp", "--chdir", "/tmp"]
    for top in ("usr", "lib", "lib64", "lib32", "bin", "sbin"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/passwd"):
        if os.path.exists(etc):
            args += ["--ro-bind", etc, etc]
    for prefix in _python_prefixes():
        args += ["--ro-bind", prefix, prefix]
    # An installed (not editable) grader would sit inside site-packages: cover it.
    if any(str(GRADER_PACKAGE).startswith(p + os.sep) for p in _python_prefixes()):
        args += ["--tmpfs", str(GRADER_PACKAGE)]
    args += ["--ro-bind", str(INSIDE), "/sandbox"]
    return args


def _python_prefixes() -> list[str]:
    """The Python installation and the virtual environment (torch lives in the latter)."""
    prefixes = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    prefixes.add(os.path.dirname(exe_dir))
    return sorted(p for p in prefixes if p not in ("/", "/usr"))
