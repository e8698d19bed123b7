"""For a large batch, the zygote's heap lies on huge pages where the kernel hands them out on
request, so that a fork copies and frees a few dozen page-table entries for it instead of ~20,000;
student processes allocate their own memory on ordinary pages (launch.HUGE_HEAP)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader import cli
from grader.sandbox import isolation, launch
from grader.sandbox.client import Limits, Zygote

FAST = Limits(call_seconds=5, import_seconds=10, memory_bytes=256 << 20)
MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")

HELLO = "def hello():\n    return 1\n"


def _kernel_mode() -> str:
    """The machine's setting: "always", "madvise" or "never" (the bracketed word)."""
    try:
        text = MODE.read_text()
    except OSError:
        return "never"  # no transparent huge pages in this kernel
    return text[text.index("[") + 1 : text.index("]")]


@pytest.fixture(params=[True, False], ids=["bubblewrap", "no_bubblewrap"])
def zygote(request):
    iso = isolation.detect(allow_bubblewrap=request.param)
    if request.param and not iso.bubblewrap:
        pytest.skip("bubblewrap is not usable here")
    zygote = Zygote(FAST, iso, huge_heap=True)
    yield zygote
    zygote.close()


def _glibc_marks_heaps() -> bool:
    """glibc learnt `glibc.malloc.hugetlb` in 2.35."""
    name, _, version = os.confstr("CS_GNU_LIBC_VERSION").partition(" ")
    return name == "glibc" and tuple(int(v) for v in version.split(".")[:2]) >= (2, 35)


def test_the_zygotes_heap_is_marked_for_huge_pages_where_they_are_given_on_request(zygote):
    """glibc marks its heap only under "madvise" (under "always" the kernel needs no mark); it
    reads the setting from /sys, which bubblewrap's root shows the zygote read-only."""
    expected = _kernel_mode() == "madvise" and _glibc_marks_heaps()
    heap = zygote.heap()
    assert heap["marked_huge"] == expected
    if expected:
        assert heap["huge_kb"] >= 2048  # torch's heap is ~85 MB: some of it is on 2 MiB pages


def test_a_zygote_started_for_few_submissions_keeps_ordinary_pages():
    """Zeroing huge pages slows the zygote's start: a cold grading would only lose."""
    zygote = Zygote(FAST, isolation.detect())
    try:
        assert zygote.heap()["marked_huge"] is False
    finally:
        zygote.close()


def test_a_student_process_allocates_on_ordinary_pages():
    """Seen from outside (a student process may not read /proc): without bubblewrap its pid is
    the machine's; the zygote turns huge pages off in the same place either way."""
    zygote = Zygote(FAST, isolation.detect(allow_bubblewrap=False), huge_heap=True)
    try:
        process = zygote.spawn()
        assert process.load("m", HELLO).ok
        status = Path(f"/proc/{process.pid}/status").read_text()
        assert status.split("THP_enabled:")[1].split()[0] == "0"
        process.close()
    finally:
        zygote.close()


def test_student_processes_cannot_read_the_huge_page_setting_shown_to_the_zygote():
    """Only the zygote's C library reads it; no Landlock rule of a student process covers it."""
    read = isolation.zygote_config(isolation.detect())["read_paths"]
    for path in isolation.HUGEPAGE_MODE:
        assert not any(path == r or path.startswith(r.rstrip("/") + "/") for r in read), path


def test_huge_pages_pay_from_250_submissions_for_each_grader_process():
    assert not launch.huge_heap_pays(1, 1)
    assert not launch.huge_heap_pays(100, 1)
    assert launch.huge_heap_pays(250, 1)
    assert not launch.huge_heap_pays(499, 2)
    assert launch.huge_heap_pays(500, 2)
    assert launch.huge_heap_pays(1000, 2)
    assert not launch.huge_heap_pays(1000, 16)


def test_nested_zygotes_pay_for_huge_pages_once_for_the_whole_batch():
    """One torch import for every grader process: the price no longer grows with -j."""
    assert not launch.huge_heap_pays(49, 2, nested=True)
    assert launch.huge_heap_pays(50, 2, nested=True)
    assert launch.huge_heap_pays(100, 2, nested=True)
    assert launch.huge_heap_pays(100, 16, nested=True)
    assert not launch.huge_heap_pays(100, 2)  # the same class in separate sandboxes


def test_the_command_counts_the_class_before_it_starts_the_sandbox(tmp_path):
    for k in range(500):
        (tmp_path / f"student{k:03d}").mkdir()
    assert cli._class_size(tmp_path) == 500
    (tmp_path / "reports").mkdir()  # `--out PATH/reports` from an earlier run: no student
    assert cli._class_size(tmp_path, leave_out=tmp_path / "reports") == 500
    assert cli._class_size(tmp_path / "student000") == 0
    assert cli._class_size(tmp_path / "missing") == 1
    upload = tmp_path / "one.zip"
    upload.write_bytes(b"PK")
    assert cli._class_size(upload) == 1


@pytest.mark.parametrize(
    ("submissions", "nested", "huge"),
    [(100, True, True), (100, False, False), (500, False, True), (20, True, False)],
)
def test_prestart_decides_on_huge_pages_by_how_its_zygotes_are_started(
    monkeypatch, submissions, nested, huge
):
    """Nested zygotes share one import, separate ones import torch each (huge_heap_pays)."""
    started = []
    monkeypatch.setattr(launch, "_early", [])
    monkeypatch.setattr(launch, "_early_pid", None)
    monkeypatch.setattr(launch, "detect", object)
    monkeypatch.setattr(launch, "can_nest", lambda iso: nested)
    monkeypatch.setattr(
        launch,
        "start_nested",
        lambda iso, count, huge_heap, keep_out: started.append(huge_heap) or [],
    )
    monkeypatch.setattr(
        launch,
        "start_zygote",
        lambda iso, layers, cpu, huge_heap, keep_out: started.append(huge_heap),
    )
    launch.prestart(2, submissions)
    assert set(started) == {huge}


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_grade_tells_the_sandbox_how_large_the_class_is(tmp_path, monkeypatch, jobs):
    from click.testing import CliRunner

    from grader import batch, submissions

    for k in range(500):
        (tmp_path / f"student{k:03d}").mkdir()
    started = []
    monkeypatch.setattr(cli, "_prestart_sandbox", lambda *a, **k: started.append((a, k)))

    def stop(*args, **kwargs):
        raise submissions.SubmissionError("stopped by the test")

    monkeypatch.setattr(batch, "grade_batch", stop)
    args = ["grade", str(tmp_path), "--out", str(tmp_path / "out"), "-j", str(jobs)]
    result = CliRunner().invoke(cli.main, args)
    assert "stopped by the test" in result.output
    keep_out = (tmp_path, tmp_path / "out")  # what the batch reads and writes (test_cli)
    assert started == [((jobs,), {"submissions": 500, "keep_out": keep_out})]
