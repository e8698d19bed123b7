"""Which isolation layers this machine allows, and the command that starts the zygote inside them.

Each layer is used where the platform allows it and named in every result when it is not, so a
TA can see at a glance that grading on a laptop without bubblewrap or Landlock left the grader's
files readable to student code. docs/threat-model.md says what each layer promises.

The layers, outermost first:
- bubblewrap (when installed and allowed to create namespaces): a private root filesystem
  holding only the system, Python, torch and the sandbox runtime; no network; its own process,
  IPC and hostname namespaces;
- per student process (inside/zygote.py, inside/confine.py): its own session, killed as a whole;
  a fresh uid when the grader runs as root; resource limits; Landlock; seccomp.
- the grader's own process is made non-dumpable, so no process of the same user can read its
  memory or environment through /proc or ptrace.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import shutil
import site
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..student_text import GRADER_PACKAGES

INSIDE = Path(__file__).resolve().parent / "inside"
GRADER_PACKAGE = Path(__file__).resolve().parent.parent

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

SYSTEM_DIRS = ("usr", "lib", "lib64", "lib32", "bin", "sbin")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/passwd")
# Read by the zygote's C library as it starts, to put its heap on huge pages (launch.py says
# why); inside bubblewrap the zygote sees them, read-only, and student processes do not (they
# are in no Landlock rule).
HUGEPAGE_MODE = (
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
)
# Read by torch's CPU detection; nothing in it is the grader's. Not /sys/devices/system/cpu:
# torch reads it in the zygote, before any fork, and its cpuN/cpuidle counts each CPU's idle
# time, that is what every process on the machine does, a clean channel between two live
# student processes (bubblewrap's root never held it, and student code ran as ever).
CPU_INFO = ("/proc/cpuinfo",)
TMPFS_BYTES = 256 << 20  # the sandbox's /tmp lives in memory: cap it
# ... and its files: each costs kernel memory that no byte cap sees (see inside/tmpfs.py).
TMPFS_INODES = 8192


@dataclass
class Isolation:
    """The layers in force for this run (reported in result.json under `isolation`)."""

    bubblewrap: bool
    network: str
    filesystem: str
    user: str
    processes: str = "its own session per student process, killed as a whole"
    landlock: str = "not checked yet"
    seccomp: str = "not checked yet"
    trusted_process: str = "not checked yet"
    autograd: str = "not checked yet"
    environment: str = "scrubbed: only " + ", ".join(sorted(CLEAN_ENV))
    limits: dict = field(default_factory=dict)
    tmp: str = "not checked yet"
    root: bool = False
    notes: list[str] = field(default_factory=list)
    # Why bubblewrap is not in force: "missing", "off", or what bwrap said when refused.
    without_bubblewrap: str = ""
    # Whether a student process sees no other process in /proc (inside/tmpfs.hide_processes).
    others_hidden: bool = False
    # Whether a student process has an empty /proc of its own (confine.hide_processes).
    proc_empty: bool = False

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("root")
        d.pop("without_bubblewrap")
        d.pop("others_hidden")
        d.pop("proc_empty")
        return d

    def protects(self, promise: str) -> bool:
        """Whether a promise of docs/threat-model.md holds with the layers in force here.

        files: the grader's files unreadable, nothing outside the process's folder writable;
        network: no connection to anything; signals: no signal, trace or memory read of any
        other process; exchange: two student processes cannot pass data through files or IPC;
        creation: no file, folder, FIFO, node or link made on the machine's disk (none left
        after grading); changes: no file or folder of the machine removed, renamed, truncated,
        written or changed in mode, owner, times or attributes; autograd: no derivative can
        come out of torch in a student process (noautograd.py).
        """
        landlock = self.landlock.startswith("in force")
        seccomp = self.seccomp.startswith("in force")
        fresh_uid = self.user.startswith("a fresh")
        return {
            "files": self.bubblewrap or landlock,
            "network": self.bubblewrap or seccomp,  # Landlock alone leaves UDP open
            "signals": seccomp or fresh_uid,
            # Without Landlock, /proc shows a sibling's page faults and CPU time to any uid
            # unless it hides other processes (tmpfs.hide_processes), and the machine's memory
            # whatever it hides (/proc/meminfo: one process held shared pages, another read
            # their count); without seccomp, any process reads the affinity and priority
            # another sets on itself (confine.py). Landlock governs opens, not stat, and the
            # size of /proc/PID/fd is PID's count of open files, which a process sets at will:
            # only a /proc that shows no other process hides it; and each name looked up in
            # /proc, its own included, draws an inode number from one count for the machine
            # (get_next_ino), which a process moves at will and the next reads back: only an
            # empty /proc of its own (confine.hide_processes) closes both.
            "exchange": seccomp and landlock and self.proc_empty,
            # Landlock and seccomp each refuse every creation; bubblewrap's root is read-only
            # but for a /tmp and /dev of its own, which end with it.
            "creation": self.bubblewrap or landlock or seccomp,
            # Landlock covers removal and writing but no metadata (chmod, chown, utime, xattrs).
            "changes": self.bubblewrap or seccomp,
            "autograd": self.autograd.startswith("switched off"),
        }[promise]

    def observe(self, layers: dict, trusted: str, withheld: Sequence[dict] = ()) -> None:
        """Fold in what a probe student process could actually put in force, and the
        installations the zygote left out of its reach (`withheld`: inside/zygote.py)."""
        self.trusted_process = trusted
        self.landlock = _layer(layers, "landlock")
        self.seccomp = _layer(layers, "seccomp")
        self.autograd = str(layers.get("autograd") or "not reported by the student process")
        ll, sc = bool(layers.get("landlock")), bool(layers.get("seccomp"))
        if layers.get("dropped_to_fresh_uid"):
            self.user = "a fresh unprivileged uid for every student process (grader runs as root)"
        elif self.root:
            self.notes.append("running as root but student code could not be moved to another uid")
        else:
            self.user = "the grader's own user (not root, so it cannot switch users)"
        self.network = _network(self.bubblewrap, sc, str(layers.get("landlock") or ""))
        self.filesystem = _filesystem(self.bubblewrap, ll, sc)
        self.processes += "; no fork or threads (RLIMIT_NPROC 0" + (", seccomp)" if sc else ")")
        self.others_hidden = layers.get("others_hidden") is True
        self.proc_empty = layers.get("proc_empty") is True
        if self.others_hidden:
            self.processes += "; no other process in its /proc"
        if not self.bubblewrap:
            self.notes.insert(0, bubblewrap_note(self.without_bubblewrap, self._carriers(ll, sc)))
        self.notes += [MISSING[p] for p in MISSING if not self.protects(p)]
        if not self.protects("exchange") and not self.proc_empty:
            # The channels through /proc are open for a reason a TA can act on: say which.
            why = layers.get("proc_error") or "the student process did not say why"
            self.notes.append(f"/proc is not emptied for student processes here: {why}")
        for key in ("error", "warning"):
            if layers.get(key):
                self.notes.append(str(layers[key]))
        self.notes += [withheld_note(w) for w in withheld]

    def _carriers(self, landlock: bool, seccomp: bool) -> list[str]:
        fresh = self.user.startswith("a fresh")
        names = ["fresh uids" if fresh else "", "Landlock" if landlock else ""]
        return [n for n in [*names, "seccomp" if seccomp else ""] if n] + ["resource limits"]


def _layer(layers: dict, name: str) -> str:
    if layers.get(name):
        return f"in force: {layers[name]}"
    return f"not in force: {layers.get(f'{name}_error', 'unknown')}"


def _network(bwrap: bool, seccomp: bool, landlock: str) -> str:
    ways = (["new empty network namespace (bubblewrap)"] if bwrap else []) + (
        ["socket() and socketpair() denied (seccomp)"] if seccomp else []
    )
    tcp = ["TCP connect and bind denied (Landlock)"] if "TCP" in landlock else []
    if ways:
        return "none: " + "; ".join(ways + tcp)
    if tcp:
        return "NOT isolated: TCP denied (Landlock), but UDP and Unix sockets remain open"
    return "NOT isolated: student code can open sockets"


def _filesystem(bwrap: bool, landlock: bool, seccomp: bool) -> str:
    if bwrap and landlock:
        return (
            "private root (bubblewrap: only the system, Python and torch), and Landlock: "
            "reads limited to those, nothing created or written (its own folder read-only)"
        )
    if bwrap:
        return "private root (bubblewrap: only the system, Python and torch, read-only; /tmp)"
    if landlock:
        return (
            "Landlock: reads limited to the system, Python and torch; nothing created or "
            "written (its own folder read-only)"
        )
    if seccomp:
        return (
            "SHARED: student code can read whatever the grading user can (seccomp refuses "
            "every write, creation, removal and change)"
        )
    return "SHARED: student code can read and write whatever the grading user can"


# What a TA should know when a promise does not hold, in plain words. The advice on bubblewrap
# itself is in bubblewrap_note(), which knows whether it is missing, refused or switched off.
MISSING = {
    "files": "student code can read the grader's files (hidden cases included), other "
    "students' uploads and results wherever file modes let every user read them, and whatever "
    "else the grading user can, what is typed into the user's terminals included: neither "
    "bubblewrap nor Landlock is in force here (Landlock needs "
    "Linux >= 5.13 with Landlock enabled; see the note on bubblewrap)",
    "network": "no network isolation: student code can open connections, to the network and "
    "to the Unix sockets of the machine's folders, the grading user's own among them (an "
    "ssh-agent, the session's D-Bus, which starts programs as that user; Landlock does not "
    "cover them) (neither bubblewrap nor seccomp is in force here)",
    "signals": "student code could signal other processes of the grading user (no seccomp, not "
    "root): a submission could disrupt the batch",
    # One text for every way the promise fails, each channel with the layer that closes it
    # (the record's landlock and seccomp lines say which are in force): it said "(no Landlock)"
    # and "(no seccomp)" where both were in force and only the empty /proc was missing.
    "exchange": "student processes of one submission can pass data to each other through what "
    "a layer missing here leaves open: the count of open files /proc shows of every process "
    "it lists, or the machine's count of inodes each name looked up in /proc draws from "
    "(closed by an empty /proc of each process's own; students graded at the same time can "
    "use it too); files, the page faults and CPU time /proc shows and the machine's memory in "
    "/proc/meminfo (closed by Landlock); the CPU affinity and priority each sets on itself "
    "(closed by seccomp); e.g. exercise 2 could reuse gradients handed to exercise 1",
    "creation": "student code can leave empty files, folders, FIFOs and links in the machine's "
    "/tmp and /dev/shm, which outlive grading (neither bubblewrap, Landlock nor seccomp is in "
    "force here)",
    "changes": "student code can remove, rename, empty or re-permission files and folders "
    "wherever the grading user can (neither bubblewrap nor seccomp is in force here)",
    "autograd": "autograd could not be switched off in student processes: student code could "
    "compute gradients with it",
}


@functools.lru_cache(maxsize=2)
def detect(allow_bubblewrap: bool = True) -> Isolation:
    """The outer layer this machine allows; the inner layers are filled in by the zygote."""
    why_not = _why_no_bubblewrap() if allow_bubblewrap else "off"
    bwrap = not why_not
    return Isolation(
        bubblewrap=bwrap,
        network="not checked yet",
        filesystem="not checked yet",
        user="root" if os.getuid() == 0 else "the grader's own user",
        tmp=_tmp_report(bwrap, bwrap and _inode_cap_works(), os.getuid() == 0),
        root=os.getuid() == 0,
        without_bubblewrap=why_not,
    )


def _tmp_report(bwrap: bool, inodes: bool, root: bool = False) -> str:
    """Where student processes' folders live, and what caps them (docs/submissions.md)."""
    if inodes:
        return f"a private tmpfs of {TMPFS_BYTES >> 20} MiB and {TMPFS_INODES} files"
    if bwrap:
        why = (
            "bubblewrap could not keep CAP_SYS_ADMIN to mount a capped /tmp here"
            if root
            else "capping them needs the grader to run as root"
        )
        return f"a private tmpfs of {TMPFS_BYTES >> 20} MiB; files not capped ({why})"
    return "the machine's /tmp: neither bytes nor files capped beyond each call's time limit"


# Run by the probe behind the launcher: fails if CAP_SYS_ADMIN survived into what it starts.
_NO_ADMIN_LEFT = [
    sys.executable,
    "-I",
    "-c",
    "import re; s = open('/proc/self/status').read(); "
    "assert not any(int(v, 16) >> 21 & 1 for v in re.findall(r'Cap\\w+:\\s*(\\w+)', s)); "
    "assert open('/proc/self/mountinfo', 'rb').read().count(b' /tmp ') >= 2",
]


@functools.lru_cache(maxsize=1)
def _inode_cap_works() -> bool:
    """Whether the zygote can start on a /tmp capped in files too (root, bubblewrap)."""
    exe = shutil.which("bwrap")
    if os.getuid() != 0 or exe is None:
        return False
    try:
        probe = subprocess.run(
            [*_bwrap_args(exe, admin=True), "--", *_tmpfs_launcher(), *_NO_ADMIN_LEFT],
            capture_output=True,
            timeout=30,
            env=CLEAN_ENV,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _tmpfs_launcher() -> list[str]:
    """`python tmpfs.py SIZE INODES`, as seen inside bubblewrap (only ever used there)."""
    return [sys.executable, "-I", "-B", "/sandbox/tmpfs.py", str(TMPFS_BYTES), str(TMPFS_INODES)]


def _bubblewrap_works() -> bool:
    return not _why_no_bubblewrap()


def _why_no_bubblewrap() -> str:
    """ "" when bubblewrap works here; "missing"; or what bwrap said when it failed."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "missing"
    try:
        probe = subprocess.run(
            [*_bwrap_args(exe), "--", sys.executable, "-I", "-c", "pass"],
            capture_output=True,
            timeout=30,
            env=CLEAN_ENV,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bwrap did not run: {e}"
    if probe.returncode == 0:
        return ""
    said = probe.stderr.decode(errors="replace").strip().splitlines()
    return said[-1][:300] if said else f"bwrap exited with code {probe.returncode}"


# What bwrap says when the machine (a container, a chroot) refuses it namespaces or mounts.
REFUSED = (
    "Operation not permitted",
    "Permission denied",
    "Failed to make / slave",
    "No permissions to create new namespace",
    "setting up uid map",
    "Creating new namespace failed",
)


def withheld_note(withheld: dict) -> str:
    """What a TA should know of an installation student code cannot import from here
    (inside/reach.py), and how to put it within reach."""
    root, closed, reaches = (str(withheld.get(k, "?")) for k in ("root", "closed", "reaches"))
    return (
        f"student code cannot import from {root}: the folder {closed} above it is closed to "
        "other users, and the way in that the sandbox would open through it (a descriptor) "
        f"would also lead to {reaches}, which student code must not read (without Landlock "
        "nothing else keeps it out). A module imported after the sandbox's start (`import "
        "statistics` inside a function, a part of torch not loaded yet) fails there with "
        "ModuleNotFoundError, and the student's message says it is not the student's doing. "
        "To fix: move the checkout "
        f"or virtual environment out of {closed}, or grade with bubblewrap, or on a kernel with "
        "Landlock (Linux >= 5.13, enabled)"
    )


def bubblewrap_note(why_not: str, carriers: list[str]) -> str:
    """Why bubblewrap is not around student code here, and what to do about it, truthfully."""
    lost = "no private filesystem view, network namespace or process namespace around student code"
    carry = f"{', '.join(carriers)} carry the sandbox"
    start = "bubblewrap is not usable here:"
    if why_not == "off":
        return f"{start} switched off for this run: {lost}; {carry}"
    if why_not == "missing":
        return f"{start} not installed: {lost}; {carry} (install the 'bubblewrap' package)"
    if any(sign in why_not for sign in REFUSED):
        return (
            f"{start} installed but this machine refuses it the namespaces it needs "
            f"({why_not}), as containers and chroots usually do: {lost}; {carry}"
        )
    return f"{start} installed but it failed ({why_not}): {lost}; {carry}"


def zygote_command(
    iso: Isolation, nested: bool = False, keep_out: Sequence[str | Path] = ()
) -> list[str]:
    """`python zygote.py`, wrapped in bubblewrap when it works here. `nested` (only where
    `can_nest`): the zygote keeps CAP_SYS_ADMIN to build each of its zygotes' own namespaces
    and /tmp (inside/nest.py), instead of tmpfs.py building one /tmp for it. `keep_out`: the
    grading's paths, hidden where they lie inside a folder the sandbox binds."""
    inner = [sys.executable, "-I", "-B", str(_inside_path(iso) / "zygote.py")]
    if not iso.bubblewrap:
        return inner
    admin = _inode_cap_works()
    if admin and not nested:
        inner = [*_tmpfs_launcher(), *inner]
    return [*_bwrap_args(shutil.which("bwrap"), admin=admin, keep_out=keep_out), "--", *inner]


def can_nest(iso: Isolation) -> bool:
    """Whether one bubblewrap can hold a walled-off zygote per grader process (inside/nest.py):
    root, with bubblewrap and the capability to mount each one's own capped /tmp."""
    return iso.bubblewrap and _inode_cap_works()


def nest_config(cpus: list[int | None]) -> dict:
    """The "nest" of a nested zygote's configuration: each zygote's /tmp caps and CPU."""
    return {"tmp": [TMPFS_BYTES, TMPFS_INODES], "cpus": cpus}


def zygote_config(iso: Isolation, keep_out: Sequence[str | Path] = ()) -> dict:
    """What every student process may read (as seen from inside the outer sandbox).
    `keep_out`: the paths the grading reads and writes (other students' uploads, the results),
    which no way in of inside/reach.py may open to a student uid either."""
    system = [str(Path("/") / d) for d in SYSTEM_DIRS] + list(SYSTEM_FILES) + list(CPU_INFO)
    read = [str(_inside_path(iso))]
    # Bubblewrap's root holds no grader and no unused package folder; torch's backward
    # formulas are in every root.
    hidden = [*backward_formulas()]
    if not iso.bubblewrap:
        hidden += [*protected_paths(), *unused_site_packages(), *grading_inside_reads(keep_out)]
    listed: list[str] = []  # the folders above a hidden one: listed, not read (imports list them)
    packages = package_folders()
    for root in system + _python_prefixes():
        read += readable_without(root, hidden, listed, split=packages)
    # The runtime and Python, which a student uid may have to reach by descriptor (inside/reach.py)
    reach = [str(_inside_path(iso)), *_python_prefixes()]
    return {
        "read_paths": read,
        "list_paths": imports_list(listed),
        # ... of which each zygote keeps, in these folders, only the packages it imported, and
        # refuses by name any import beyond the standard library and these (inside/zygote.py)
        "package_folders": [str(p) for p in packages],
        "packages": sorted(GRADER_PACKAGES),
        "private_tmp": iso.bubblewrap,
        "reach": reach,
        # ... but never where a descriptor's `..` would lead to these (without Landlock), told
        # by identity: a student process can read whatever the zygote holds (inside/reach.py)
        "keep_out": [] if iso.bubblewrap else kept_identities(kept_out(keep_out)),
    }


def imports_list(opened_up: Sequence[str]) -> list[str]:
    """Of the folders opened up above a left-out one, those Python's imports list: the import
    path's folders (a package folder, the standard library's). A Landlock rule to list a
    folder lists every folder beneath it too, so one on the folders above them (a virtual
    environment made in the course's folder, above its site-packages) showed the names in the
    class's folder of uploads and in OUT: who is in the class, and how many."""
    searched = {_resolved(p) for p in sys.path if p} | set(package_folders())
    return [p for p in dict.fromkeys(opened_up) if _resolved(p) in searched]


def kept_out(grading: Sequence[str | Path] = ()) -> list[str]:
    """What no way in of inside/reach.py may open to a student uid: the grader's own files and
    `grading`'s paths, resolved (as the grader reaches them: the zygote compares them with
    resolved paths)."""
    paths = [*protected_paths(), *map(Path, grading)]
    return list(dict.fromkeys(os.path.realpath(p) for p in paths))


def kept_identities(paths: Sequence[str]) -> list[dict]:
    """`paths` as inside/reach.py is told them: by identity (device, inode) of each and of the
    folders above it, never by name, in the same order (the zygote reports a withheld
    installation by its place here). The zygote's memory is every student process's to read:
    as names, a student's file found the class's folder of uploads and OUT there."""
    return [{"is": _identity(p), "in": _identities_above(p)} for p in paths]


def _identity(path: str | Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:  # not there (yet): only the folders above it can hold a way in
        return None
    return [st.st_dev, st.st_ino]


def _identities_above(path: str | Path) -> list[list[int]]:
    above = (_identity(parent) for parent in Path(os.path.realpath(path)).parents)
    return [pair for pair in above if pair is not None]


def grading_inside_reads(grading: Sequence[str | Path] = ()) -> list[Path]:
    """The grading's paths (the class's uploads, the results) that Landlock must leave out of
    the folders it lets student processes read, where bubblewrap is not there to cover them:
    a virtual environment made in the course's folder (`python -m venv .`) holds the uploads
    and results of the whole class, and a student's file read a classmate's upload and
    result.json through it. A path that holds Python lies outside what is read, but for the
    environment itself (`grader grade .` in the folder made with `python -m venv .`, which
    holds the class's folders): its entries beside the installation are left out
    (`_beside_python`); leaving it out whole would leave out Python."""
    prefixes = [Path(p) for p in _python_prefixes()]
    left_out: list[Path] = []
    for path in (Path(os.path.realpath(p)) for p in grading):
        if path in prefixes:
            left_out += _beside_python(path)
        elif not any(_within(prefix, path) for prefix in prefixes):
            left_out.append(path)
    return left_out


def _beside_python(prefix: Path) -> list[Path]:
    """The entries of a Python prefix that are none of Python's: neither on its import path,
    nor its package folders, nor its executable's folder, nor pyvenv.cfg. Every student process
    may read the prefix, and a class's folders made in it were read whole: a student's file
    read a classmate's upload and result.json, and listed the class."""
    return [e for e in _entries(prefix) if e not in _python_entries(prefix)]


def _python_entries(prefix: Path) -> list[Path]:
    """The entries of a Python prefix that are Python's: on its import path, its package
    folders, its executable's folder, pyvenv.cfg (and a link to one of them, lib64 -> lib)."""
    used = [*sys.path, *map(str, package_folders()), os.path.dirname(sys.executable)]
    kept = {prefix / "pyvenv.cfg"}
    for entry in (_resolved(p) for p in used if p):
        if entry != prefix and _within(entry, prefix):
            kept.add(prefix / entry.relative_to(prefix).parts[0])
    return [e for e in _entries(prefix) if e in kept or e.resolve() in kept]


def _entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def reads_reach(paths: Sequence[str | Path]) -> bool:
    """Whether the folders every student process may read (the system, Python: bubblewrap
    binds them, Landlock allows them) hold one of `paths`: a zygote launched before they were
    known would let student code read them (client.Zygote replaces it)."""
    roots = [Path("/") / d for d in SYSTEM_DIRS] + [Path(p) for p in _python_prefixes()]
    return any(_within(p, root.resolve()) for p in grading_inside_reads(paths) for root in roots)


def _inside_path(iso: Isolation) -> Path:
    return Path("/sandbox") if iso.bubblewrap else INSIDE


def backward_formulas() -> list[Path]:
    """torch's backward formulas as text, which student processes may not read: torch/_decomp
    (the zygote imported it before any fork and noautograd.py took it out of memory, so only
    its source is left) and torchgen/packaged, whose autograd/derivatives.yaml is every
    operator's derivative, kept for code generation only (torch never reads it at run time).
    A student reading either would have autograd's derivatives by another name. Found without
    importing torch (the zygote starts before the grader's import)."""
    found = []
    for package, formulas in (("torch", "_decomp"), ("torchgen", "packaged")):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            found.append(Path(spec.origin).resolve().parent / formulas)
    return found


PACKAGE_FOLDER_NAMES = ("site-packages", "dist-packages")


def package_folders() -> list[Path]:
    """The folders this Python imports installed packages from (site-packages; Debian's
    dist-packages), whose entries student processes may read one by one, and only those of
    the packages the zygote imported (torch, numpy and what they load: inside/zygote.py).
    Whatever else is installed beside them (the grader's pytest, Jinja2, sympy, which
    differentiates symbolically) cannot be read, so cannot be imported, as the contract
    promises and the student's check shows."""
    found = [*site.getsitepackages(), *sys.path]
    folders = [_resolved(p) for p in found if p and os.path.basename(p) in PACKAGE_FOLDER_NAMES]
    unused = set(unused_site_packages())
    return [f for f in dict.fromkeys(folders) if f.is_dir() and f not in unused]


def _resolved(path: str) -> Path:
    return Path(path).resolve()


def protected_paths() -> list[Path]:
    """What student code must never read: the grader package, and the checkout it came from."""
    checkout = GRADER_PACKAGE.parent
    if (checkout / "pyproject.toml").exists():  # an editable install or a plain checkout
        return [GRADER_PACKAGE, checkout]
    return [GRADER_PACKAGE]


def unused_site_packages() -> list[Path]:
    """Package folders this Python does not import from: the base Python's, which a virtual
    environment without the system's packages (`include-system-site-packages = false`) never
    uses, and the system Pythons' (Debian's /usr/lib/python3/dist-packages) under the system
    folders every student process reads. They hold whatever was ever installed there: a stale
    copy of the grader with its hidden cases, a second torch with its own backward formulas.
    So too every other environment under a bound Python (`envs/*`: conda's base holds every
    environment there, and a pyenv Python every pyenv-virtualenv one made from it), whole: a
    TA's stale copy of the grader in last term's environment was readable with the Python
    that holds it; and conda's cache of the packages it unpacked (`pkgs`: a second torch, its
    backward formulas in it). bubblewrap covers them (a tmpfs costs nothing); without it
    Landlock leaves them out, at the price of allowing the folders around them entry by entry
    (zygote_config)."""
    used = [_resolved(p) for p in sys.path if p and os.path.isdir(p)]
    candidates = []
    if os.path.realpath(sys.prefix) != os.path.realpath(sys.base_prefix):
        candidates += site.getsitepackages([sys.base_prefix])
    for lib in ("/usr/lib", "/usr/local/lib", "/usr/lib64", "/usr/local/lib64"):
        candidates += sorted(glob.glob(f"{lib}/python3*/*-packages"))
    for prefix in _python_prefixes():
        candidates += sorted(glob.glob(f"{glob.escape(prefix)}/envs/*"))
        candidates += glob.glob(f"{glob.escape(prefix)}/pkgs")  # conda's unpacked packages
    used += [_resolved(p) for p in _python_prefixes()]  # never the environment in use
    folders = []
    for d in candidates:
        folder = _resolved(d)
        if folder.is_dir() and not any(_within(u, folder) for u in used):
            folders.append(folder)
    return list(dict.fromkeys(folders))


def readable_without(
    root: str,
    protected: list[Path],
    listed: list[str] | None = None,
    _seen: set | None = None,
    split: Sequence[Path] = (),
) -> list[str]:
    """`root` as a list of paths that together cover it, minus the protected ones inside it.

    Landlock can only allow, never carve out, so a protected folder inside an allowed one (a
    grader installed into site-packages, torch's backward formulas) is left out by allowing each
    of its siblings instead; the folders opened up that way are added to `listed`, to be listed
    but not read (Python's imports list a package's folder to find its modules, and a listing
    shows names only). The `split` folders are opened up that way too, whatever they hold, so
    that their entries can be allowed one by one (`package_folders`). Symbolic links are
    followed (a rule on a link covers its target: a venv's lib64 -> lib).
    """
    path = Path(root).resolve()
    protected = [p.resolve() for p in protected]
    inside = [p for p in protected if _within(p, path)]
    if not inside and not any(_within(Path(s), path) for s in split):
        return [root] if path.exists() else []
    seen = set() if _seen is None else _seen
    if any(p == path for p in inside) or not path.is_dir() or path in seen:
        return []
    seen.add(path)  # a link back up the tree must not send this round in circles
    out: list[str] = []
    try:
        children = sorted(path.iterdir())
    except OSError:
        return []
    if listed is not None:
        listed.append(root)
    for child in children:
        out += readable_without(str(child), protected, listed, seen, split)
    return list(dict.fromkeys(out))


def _within(p: Path, root: Path) -> bool:
    return p == root or root in p.parents


def _bwrap_args(exe: str, admin: bool = False, keep_out: Sequence[str | Path] = ()) -> list[str]:
    """A root filesystem holding the system, Python, its packages and the sandbox runtime only.

    `admin`: keep CAP_SYS_ADMIN for inside/tmpfs.py, which mounts /tmp and drops it before the
    zygote starts (only ever with that launcher in front). `keep_out`: the grading's paths
    (the class's uploads, the results), covered where they lie in a bound folder.
    """
    args = [exe, "--die-with-parent", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    args += ["--unshare-pid", "--new-session", "--proc", "/proc", "--dev", "/dev"]
    # The zygote itself is the namespace's pid 1: bubblewrap's own reaper would outlive the
    # bubblewrap process that started it and be left a zombie for the machine's init to find.
    # Where the zygote ends, the kernel kills everything left in the namespace.
    if "--as-pid-1" in _usage(exe):
        args.append("--as-pid-1")
    args += [*_tmpfs_options(exe), "--tmpfs", "/tmp", "--chdir", "/tmp"]
    bound = []
    for top in SYSTEM_DIRS:
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
            bound.append(path)
    for etc in SYSTEM_FILES + HUGEPAGE_MODE:
        if os.path.exists(etc):
            args += ["--ro-bind", etc, etc]
    made: set[Path] = set()
    for prefix in _python_prefixes():
        # bubblewrap would make the missing parents (/root for a pyenv Python) mode 0700,
        # closing the prefix to student uids: make them traversable first.
        for parent in reversed(Path(prefix).parents):
            if parent != Path("/") and parent not in made and "--perms" in _usage(exe):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        args += ["--ro-bind", prefix, prefix]
        bound.append(Path(prefix))
    # A grader installed into site-packages, or a checkout under a bound folder: hide it. So too
    # the grading's own paths: a virtual environment made in the course's folder (`python -m
    # venv .`) bound the class's uploads and results with it, readable to every student.
    grading = {Path(p) for p in kept_out(keep_out)} - set(protected_paths())
    prefixes = {Path(p) for p in _python_prefixes()}
    # The class's folder is the environment itself (`grader grade .` where `python -m venv .`
    # made it): an empty tmpfs over it with Python's own entries bound back, so that not even
    # the names beside them (each student's folder) can be listed.
    rebuilt = sorted(grading & prefixes)
    for prefix in rebuilt:
        args += ["--tmpfs", str(prefix)]
        for entry in _python_entries(prefix):
            if entry.is_symlink():  # lib64 -> lib
                args += ["--symlink", os.readlink(entry), str(entry)]
            else:
                args += ["--ro-bind", str(entry), str(entry)]
    kept = [e for prefix in rebuilt for e in _python_entries(prefix)]
    for secret in [*map(Path, kept_out(keep_out)), *unused_site_packages()]:
        if secret in rebuilt:
            continue
        if not any(_within(secret, b) for b in bound):
            continue
        if any(_within(secret, p) for p in rebuilt) and not any(_within(secret, e) for e in kept):
            continue  # under the tmpfs already: a mount would make its name again
        if secret in grading and any(_within(p, secret) for p in prefixes):
            continue  # a folder holding the environment: covering it would hide Python
        if secret.is_dir():
            args += ["--tmpfs", str(secret)]
        elif secret.exists():  # an upload's zip: /dev/null in its place, with devices allowed
            args += ["--dev-bind", "/dev/null", str(secret)]  # (a bound folder forbids them)
    args += ["--ro-bind", str(INSIDE), "/sandbox"]
    if os.getuid() == 0:  # the zygote keeps only what it needs to start and stop students
        args += ["--cap-drop", "ALL"]
        for cap in ("SETUID", "SETGID", "CHOWN", "FOWNER", "KILL", "DAC_OVERRIDE"):
            args += ["--cap-add", f"CAP_{cap}"]
        if admin:
            args += ["--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP"]
    return args


@functools.lru_cache(maxsize=2)
def _usage(exe: str) -> str:
    """bubblewrap's --help, to use the options this version knows (--size came in 0.8)."""
    try:
        return subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _tmpfs_options(exe: str) -> tuple[str, ...]:
    """A size cap and tight permissions for the sandbox's /tmp, where bubblewrap knows them."""
    usage = _usage(exe)
    opts: tuple[str, ...] = ()
    if "--size" in usage:
        opts += ("--size", str(TMPFS_BYTES))
    if "--perms" in usage:
        opts += ("--perms", "0711")
    return opts


def _python_prefixes() -> list[str]:
    """The Python installation and the virtual environment (torch lives in the latter)."""
    prefixes = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    exe_dir = os.path.dirname(os.path.realpath(sys.executable))
    prefixes.add(os.path.dirname(exe_dir))
    return sorted(p for p in prefixes if p not in ("/", "/usr"))
