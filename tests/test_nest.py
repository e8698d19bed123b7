"""One torch import for a batch's zygotes (sandbox/inside/nest.py): as root with bubblewrap, one
process imports torch and forks a zygote per grader process, each walled off as if it had a
bubblewrap of its own: its own /tmp (capped alike), its own process namespace, no capability
to make more mounts. Filling one's /tmp, or ending one, changes nothing for the other.
Elsewhere (no root, no bubblewrap) each grader process keeps a sandbox of its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_hugepages import _glibc_marks_heaps, _kernel_mode

from grader.sandbox import isolation, launch
from grader.sandbox.client import Limits, Zygote

PROBE = """
import os
import torch

def where():
    here = os.statvfs(".")
    return torch.tensor([os.stat(".").st_dev, here.f_files, os.getpid()], dtype=torch.int64)
"""

nests = pytest.mark.skipif(
    not isolation.can_nest(isolation.detect()),
    reason="nested zygotes need root and bubblewrap (CI runs as root with bubblewrap)",
)


@pytest.fixture
def pair():
    """Both zygotes of a nested launch, taken in this one process (a batch gives one to each
    of its grader processes: tests/test_launch.py); closed after the test."""
    launch.prestart(2)
    assert [launched.nested for launched in launch._early] == [True, True]
    zygotes = [Zygote(Limits()), Zygote(Limits())]
    yield zygotes
    for zygote in zygotes:
        zygote.close()


def where(zygote: Zygote) -> tuple[int, int, int]:
    """(its /tmp's device, its /tmp's inodes, its pid), as a student of `zygote` sees them."""
    student = zygote.spawn()
    try:
        assert student.load("probe", PROBE).ok
        reply = student.call("probe", "where", {}, [])
        assert reply.ok, reply.message
        dev, files, pid = reply.value[0].tolist()
        return dev, files, pid
    finally:
        student.close()


def zygote_processes(bwrap: int) -> list[int]:
    """The nested zygotes, as this process sees them: under bubblewrap, the process that
    imported torch, under it one process per zygote that made its namespaces, under each the
    zygote (pid 1 of its own process namespace)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    level = {bwrap}
    for _ in range(3):
        level = {p for p, pp in parents.items() if pp in level}
    return sorted(level)


def process_of(zygote: Zygote) -> int:
    """The process of a nested zygote, found by the /tmp its students see."""
    dev = where(zygote)[0]
    (pid,) = [
        p for p in zygote_processes(zygote.proc.pid) if os.stat(f"/proc/{p}/root/tmp").st_dev == dev
    ]
    return pid


@nests
def test_one_process_imports_torch_for_every_zygote_and_each_serves_its_own_students(pair):
    a, b = pair
    assert a.proc.pid == b.proc.pid  # one process imported torch for both
    (dev_a, files_a, pid_a), (dev_b, files_b, pid_b) = where(a), where(b)
    assert dev_a != dev_b, "each zygote has a /tmp of its own"
    assert files_a == files_b == isolation.TMPFS_INODES, "and each is capped alike"
    # Each is pid 1 of a process namespace of its own: their first students get the same pid.
    assert pid_a == pid_b
    assert a.iso.to_json() == b.iso.to_json()
    assert a.iso.bubblewrap and "8192 files" in a.iso.to_json()["tmp"]


@nests
def test_nested_zygotes_for_a_class_of_a_hundred_share_a_heap_on_huge_pages():
    """Their one import pays for huge pages once (launch.huge_heap_pays); where the kernel
    hands them out on request, each zygote's heap lies on them."""
    launch.prestart(2, submissions=100)
    zygotes = [Zygote(Limits()), Zygote(Limits())]
    try:
        expected = _kernel_mode() == "madvise" and _glibc_marks_heaps()
        for zygote in zygotes:
            heap = zygote.heap()
            assert heap["marked_huge"] == expected
            if expected:
                assert heap["huge_kb"] >= 2048
        assert where(zygotes[0])[2] == where(zygotes[1])[2]  # still walled off from each other
    finally:
        for zygote in zygotes:
            zygote.close()


@nests
def test_a_nested_zygote_keeps_no_capability_to_mount(pair):
    zygotes = zygote_processes(pair[0].proc.pid)
    assert len(zygotes) == 2
    for pid in zygotes:
        status = Path(f"/proc/{pid}/status").read_text()
        lines = [line.split(":") for line in status.splitlines() if line.startswith("Cap")]
        for name, value in ((k, int(v, 16)) for k, v in lines):
            assert not value >> 21 & 1, f"CAP_SYS_ADMIN in {name} of a zygote"
            assert not value >> 8 & 1, f"CAP_SETPCAP in {name} of a zygote"


@nests
def test_filling_one_zygotes_tmp_leaves_the_other_working(pair):
    a, b = pair
    tmp = Path(f"/proc/{process_of(a)}/root/tmp")
    # The zygote confirms a kill before it sweeps its /tmp (inside/zygote.py): a sweep still
    # running would remove fillers as they are made. It answers this once the sweep is done.
    a.status()
    with pytest.raises(OSError):  # every file of it taken, as a student's files could
        for k in range(isolation.TMPFS_INODES + 1):
            (tmp / f"filler{k}").touch()
    assert where(b)[1] == isolation.TMPFS_INODES  # the other never noticed
    assert b.generation == 1 and b.proc.pid == a.proc.pid  # nor was it restarted


@nests
def test_a_nested_zygote_that_ends_leaves_the_other_serving(pair):
    a, b = pair
    a.close()
    assert not a.alive()
    assert b.alive() and where(b)[1] == isolation.TMPFS_INODES


@nests
def test_a_nested_zygote_that_is_killed_is_replaced_by_a_sandbox_of_its_own(pair):
    a, b = pair
    mother = a.proc.pid
    os.kill(process_of(a), 9)
    assert where(a)[1] == isolation.TMPFS_INODES  # spawn found it dead and started anew
    assert a.proc.pid != mother and a.generation == 2
    assert b.alive() and where(b)[1] == isolation.TMPFS_INODES


DEEPEST = """
import torch

def deepest():
    def down(k):
        try:
            return down(k + 1)
        except RecursionError:
            return k
    return torch.tensor(down(0))
"""


def deepest(zygote: Zygote) -> int:
    """How many calls deep a student's recursion gets in a process of `zygote`."""
    student = zygote.spawn()
    try:
        assert student.load("probe", DEEPEST).ok
        reply = student.call("probe", "deepest", {}, [])
        assert reply.ok, reply.message
        return int(reply.value[0])
    finally:
        student.close()


@nests
def test_student_code_recurses_as_deep_in_a_nested_zygote_as_in_one_of_its_own(pair):
    """A nested zygote serves a few frames deeper than one of its own: the same recursive code
    stopped sooner under `-j 2` than under `-j 1`, and its traceback said so in result.json."""
    own = Zygote(Limits())
    try:
        assert not own._launched.nested
        assert deepest(pair[0]) == deepest(own) > 900
    finally:
        own.close()


def test_without_the_capability_each_grader_process_gets_a_sandbox_of_its_own(monkeypatch):
    monkeypatch.setattr(launch, "can_nest", lambda iso: False)
    launch.prestart(2)
    early = list(launch._early)
    assert [launched.nested for launched in early] == [False, False]
    assert early[0].proc.pid != early[1].proc.pid


@pytest.fixture(autouse=True)
def _nothing_left_over():
    yield
    launch.reap(launch.hand_over(), seconds=0)
    launch._early.clear()
