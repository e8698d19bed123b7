"""The container's memory limit, and how much of it a student process may take.

In a container (Gradescope gives 768 MB by default) the memory cgroup's limit is lower than the
sandbox's own headroom (1 GiB above torch). A student process that allocates 700 MB would then
meet the container's OOM killer, which may take the grader itself, instead of the sandbox's
clean refusal (a MemoryError, reported on the item). So the headroom each student process gets
is cut to what the cgroup has left, less a margin for the grader's own growth. It is taken once,
before any student code runs (launch.memory_at_start): the cgroup counts every student process
in it, so taken as each process started, its limit told it what the others held.

What is left is split between the student processes that can be alive at once (Cgroup.room's
`processes`): a grading keeps one per exercise file, and a batch grades several submissions at
once. Each given the whole of it, they could together drive the container to its limit, and
the OOM killer, which takes the largest student process, then took another student's: three
files each holding 140 MB at import (a 768 MB cgroup, `-j 2`) had an honest classmate's
process, which held 150 MB it was allowed, killed mid-grading (18.86 points lost).

Reads cgroup v2 (`memory.max`, `memory.current`) and v1 (`memory.limit_in_bytes`,
`memory.usage_in_bytes`), at the process's own cgroup and every ancestor (a parent's limit
binds its children), taking the tightest. Usage leaves out the cgroup's inactive file pages
(`memory.stat`), as the kernel reclaims them before it kills anything: the page cache of
files read once (torch's libraries, earlier students' files in a batch) counted as used
memory, and a container whose cache filled gave every new student process the floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a page-rounded 2**63 - 1
FLOOR = 32 << 20  # below this, torch itself cannot work: better a MemoryError than none


@dataclass(frozen=True)
class Cgroup:
    """The tightest memory limit over this process's cgroups, and that cgroup's usage."""

    limit: int
    usage: int

    def room(self, processes: int = 1) -> int:
        """Bytes each of `processes` student processes alive at once may add: what is left,
        less an eighth of the limit kept for the grader's own growth, split evenly so that
        together they cannot take more than the container had; never less than FLOOR (where
        the split falls below it, the processes together may exceed what was left)."""
        return max(self.left() // max(processes, 1), FLOOR)

    def left(self) -> int:
        """Bytes the student processes may add together: what is left, less an eighth of the
        limit kept for the grader's own growth (negative where even that is gone)."""
        return self.limit - self.usage - self.limit // 8


def container_memory(root: str = "/sys/fs/cgroup", own: str = "/proc/self/cgroup") -> Cgroup | None:
    """The container's memory limit and usage, or None where there is no limit."""
    try:
        lines = Path(own).read_text().splitlines()
    except OSError:
        return None
    found: list[Cgroup] = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "" and line.startswith("0::"):
            found += _limits(Path(root), path, "memory.max", "memory.current")
        elif "memory" in controllers.split(","):
            found += _limits(
                Path(root) / "memory", path, "memory.limit_in_bytes", "memory.usage_in_bytes"
            )
    return min(found, key=lambda c: c.limit) if found else None


def _limits(mount: Path, path: str, limit_file: str, usage_file: str) -> list[Cgroup]:
    """The limits set on `path` and its ancestors under `mount`, and on the mount's own root
    (inside a container the mount is often the container's cgroup, whatever `path` says)."""
    parts = [p for p in path.strip("/").split("/") if p and p != ".."]
    folders = [mount.joinpath(*parts[:n]) for n in range(len(parts), -1, -1)]
    out = []
    for folder in dict.fromkeys(folders):
        limit, usage = _read(folder / limit_file), _read(folder / usage_file)
        if limit is not None and limit < UNLIMITED:
            out.append(Cgroup(limit, max((usage or 0) - _reclaimable(folder), 0)))
    return out


# memory.stat's count of file pages not used lately: v1 names the cgroup's own and its
# descendants' `total_inactive_file` (usage_in_bytes counts both), v2 has one count.
INACTIVE_FILE_KEYS = ("total_inactive_file", "inactive_file")


def _reclaimable(folder: Path) -> int:
    """Bytes of the cgroup's usage that are inactive page cache (0 where unknown): what
    `docker stats` and the kubelet leave out of a container's working set too."""
    try:
        lines = (folder / "memory.stat").read_text().splitlines()
    except OSError:
        return 0
    counts = dict((line.split() + ["", ""])[:2] for line in lines)
    for key in INACTIVE_FILE_KEYS:
        if counts.get(key, "").isdigit():
            return int(counts[key])
    return 0


def _read(file: Path) -> int | None:
    try:
        text = file.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (v2): no limit


def oom_kills(vmstat: str = "/proc/vmstat") -> int | None:
    """How many processes the kernel's OOM killer has killed since boot, in any cgroup of the
    machine (the kernel counts each kill before it sends the signal), or None where it does
    not say. A student process it kills ends without answering, as `os._exit` would: a rise
    in the count while a submission is graded tells the session (`Session.limits_reached`)
    that such an end may be the machine's doing, not the code's."""
    try:
        with open(vmstat, "rb") as f:
            for line in f:
                name, _, count = line.partition(b" ")
                if name == b"oom_kill":
                    return int(count) if count.strip().isdigit() else None
    except OSError:
        return None
    return None
