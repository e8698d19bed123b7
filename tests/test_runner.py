"""The suite runner: one pytest session per grader process, one pass over the tests per submission.

What a pass reports must be that submission's alone, whatever the passes before it did: these
tests run small suites of their own, with a stand-in for the grading session.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from grader.runner import SuiteRunner

SUITE = """
from grader.records import ItemResult

def test_files_an_item(session, public_only, record):
    record(ItemResult(id=f"ex.{session.name}", exercise="ex", status="passed"), chain=session.name)
    assert public_only is False

def test_fails_when_told(session, record):
    if session.name == "bad":
        record(ItemResult(id="ex.told", exercise="ex", status="failed"))
        raise AssertionError("filed, then failed: the item says it all")

def test_crashes_when_told(session):
    if session.name == "crash":
        raise RuntimeError("a grader bug")
"""


class StandIn:
    """What the suites receive as `session`; `stop` is what Ctrl-C calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()


def write_suite(folder: Path, text: str) -> None:
    """A suite file named uniquely: pytest imports suites by file name, once per process."""
    (folder / f"test_{uuid.uuid4().hex}.py").write_text(text)


@pytest.fixture
def runner(tmp_path: Path):
    write_suite(tmp_path, SUITE)
    r = SuiteRunner(tmp_path)
    yield r
    r.close()


def ids(items) -> list[str]:
    return [i.id for i in items]


def test_each_pass_reports_its_own_submission_only(runner):
    first, _ = runner.run(StandIn("ann"), False)
    second, extra = runner.run(StandIn("bob"), False)
    assert ids(first) == ["ex.ann"]
    assert ids(second) == ["ex.bob"]
    assert extra == {"chain": "bob"}


def test_a_failing_tests_error_is_kept_whether_or_not_it_filed_items(runner):
    """Its filed items keep their verdicts; its error is for the items it never reached
    (Grader._complete), which said "no suite filed the item" where a test filed one, then
    raised."""
    items, extra = runner.run(StandIn("bad"), False)
    assert ids(items) == ["ex.bad", "ex.told"]
    (error,) = extra["suite_errors"]
    assert "test_fails_when_told" in error and "filed, then failed" in error
    items, extra = runner.run(StandIn("crash"), False)
    assert ids(items) == ["ex.crash"]
    (error,) = extra["suite_errors"]
    assert "test_crashes_when_told" in error and "a grader bug" in error
    _, extra = runner.run(StandIn("fine"), False)
    assert "suite_errors" not in extra, "an earlier pass's failure must not follow the next"


def test_a_suite_that_does_not_import_is_reported_on_every_pass_and_the_others_run(tmp_path):
    write_suite(tmp_path, SUITE)
    write_suite(tmp_path, "import no_such_module_anywhere\n")
    runner = SuiteRunner(tmp_path)
    try:
        for name in ("ann", "bob"):
            items, extra = runner.run(StandIn(name), False)
            assert ids(items) == [f"ex.{name}"]
            assert any("no_such_module_anywhere" in e for e in extra["suite_errors"])
    finally:
        runner.close()


def test_many_passes_leave_nothing_behind_on_the_tests(runner):
    for k in range(30):
        items, _ = runner.run(StandIn(f"s{k}"), False)
        assert ids(items) == [f"ex.s{k}"]
    tests = runner._plugin.tests
    assert tests and all(t.user_properties == [] for t in tests)


def test_ctrl_c_stops_the_submission_in_flight_and_the_runner_serves_the_next(tmp_path):
    write_suite(
        tmp_path,
        "def test_waits_for_stop(session, record):\n"
        "    if session.name == 'slow':\n"
        "        assert session.stopped.wait(30), 'never stopped'\n"
        "    record(session.name)\n",
    )
    runner = SuiteRunner(tmp_path)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    slow = StandIn("slow")
    try:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        start = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            runner.run(slow, False)
        assert slow.stopped.is_set() and time.monotonic() - start < 20
        items, _ = runner.run(StandIn("next"), False)
        assert items == ["next"]
    finally:
        signal.signal(signal.SIGINT, previous)
        runner.close()


def test_a_forked_copy_of_the_grader_starts_its_own_session(runner):
    runner.run(StandIn("ann"), False)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        os._exit(0 if not runner.alive else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert runner.alive
