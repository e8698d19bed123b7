"""Running an assignment's pytest suites on submissions, and reading their verdicts.

pytest starts once per grader process and stays: its session collects the suites once, then
waits, and each submission is one more pass over the collected tests (`SuiteRunner.run`). A
pytest start costs ~50 ms (configuration, plugins, collection), as much as judging a whole
submission, so a batch pays it once per grader process instead of once per student.

The session lives in a thread of its own because pytest owns the loop: `pytest_runtestloop`
below is that loop, taking one submission at a time from a queue. Between passes nothing of a
submission stays in pytest: fixtures are torn down after the last test, as at a session's end,
and each test's records are read from `item.user_properties` and cleared.
"""

from __future__ import annotations

import os
import queue
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .records import ItemResult
from .session import Session

# Plugins the suites do not use: each costs time at every test, and two of them gc.collect() the
# whole heap or juggle log handlers. The terminal is off too: nobody reads it, and its writer
# would hold on to the process's stdout for the session's whole life.
UNUSED_PLUGINS = (
    "cacheprovider", "randomly", "unraisableexception", "threadexception", "logging", "doctest",
    "junitxml", "pastebin", "monkeypatch", "recwarn", "setuponly", "terminal", "setupplan",
    "stepwise", "faulthandler", "subtests", "debugging", "unittest", "xdist", "xdist.looponfail",
    "metadata", "pytest_jsonreport",
)  # fmt: skip

_ITEMS, _EXTRA = "ninja_items", "ninja_extra"  # keys of the records in item.user_properties
PUBLIC_PHASE = "public_phase"
HIDDEN_ORDER = "hidden_order"


def public_phase_first(tests: list[pytest.Item]) -> list[pytest.Item]:
    """The tests marked `public_phase` (every suite file's public cases), then the others, by
    their `hidden_order(k)` mark (none: 0), each group in its collected order.

    Student code handed a hidden case's inputs can signal them to another file's process (the
    machine's free memory, process numbers, the page cache): so every public answer of a
    submission, the ones a student sees before grades are published, comes before any of its
    processes is handed a hidden input (Session.call_each ends them all should one come later).
    And a file whose functions are handed autograd's upstream gradients, from which other files'
    answers follow, is judged on hidden cases after those files: its suite says so with a higher
    `hidden_order`, so that what it could signal arrives when no one is left to use it."""
    return sorted(tests, key=_phase)


def _phase(test: pytest.Item) -> tuple[int, int]:
    if test.get_closest_marker(PUBLIC_PHASE) is not None:
        return (0, 0)
    order = test.get_closest_marker(HIDDEN_ORDER)
    return (1, int(order.args[0]) if order is not None and order.args else 0)


@dataclass
class _Pass:
    """One submission's pass over the tests: what goes in, what comes out."""

    session: Session
    public_only: bool
    items: list[ItemResult] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    carry: dict = field(default_factory=dict)  # from a public-phase test to the test after it
    done: threading.Event = field(default_factory=threading.Event)

    def suite_error(self, text: str) -> None:
        self.extra.setdefault("suite_errors", []).append(text)


class SuitePlugin:
    """The loop that serves passes, and the fixtures the suites ask for."""

    def __init__(self) -> None:
        self.passes: queue.Queue[_Pass | None] = queue.Queue()
        self.current: _Pass | None = None
        self.collect_errors: list[str] = []
        self.tests: list[pytest.Item] = []  # as collected, run again on every pass
        self._failures: dict[str, str] = {}

    @pytest.fixture
    def session(self) -> Session:
        return self.current.session

    @pytest.fixture
    def public_only(self) -> bool:
        return self.current.public_only

    @pytest.fixture
    def carry(self) -> dict:
        """A dict for this submission's pass: what a `public_phase` test leaves for the test
        that judges it, after the hidden cases."""
        return self.current.carry

    @pytest.fixture
    def record(self, request):
        """`record(item, ...)` files items (and `chain=...`) with the test's report."""

        def _record(*items: ItemResult, **extra):
            request.node.user_properties.append((_ITEMS, list(items)))
            if extra:
                request.node.user_properties.append((_EXTRA, extra))
            return items[0] if len(items) == 1 else items

        return _record

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        # A failing item is routine here; rich tracebacks would re-parse the suites each time.
        config.option.tbstyle = "native"
        config.addinivalue_line("markers", f"{PUBLIC_PHASE}: runs before every other test")
        config.addinivalue_line(
            "markers", f"{HIDDEN_ORDER}(k): after the public phase, lower k runs first"
        )

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(collect_error(report.nodeid, str(report.longrepr)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed and report.nodeid not in self._failures:
            self._failures[report.nodeid] = f"{report.nodeid}: {str(report.longrepr)[-2000:]}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        tests = public_phase_first(session.items)
        while (one := self.passes.get()) is not None:
            self.current = one
            self.tests = tests
            try:
                self._run_pass(tests, one)
            except BaseException:  # noqa: BLE001 - the loop must outlive any one submission
                one.suite_error(traceback.format_exc()[-3000:])
            finally:
                self.current = None
                one.done.set()
        return True

    def _run_pass(self, tests: list[pytest.Item], one: _Pass) -> None:
        for text in self.collect_errors:
            one.suite_error(text)
        self._failures.clear()
        for i, test in enumerate(tests):
            test.user_properties.clear()
            # Captured output of earlier passes would pile up here for the session's life.
            getattr(test, "_report_sections", []).clear()
            nextitem = tests[i + 1] if i + 1 < len(tests) else None  # None: tear all down
            test.config.hook.pytest_runtest_protocol(item=test, nextitem=nextitem)
            for key, value in test.user_properties:
                if key == _ITEMS:
                    one.items += value
                elif key == _EXTRA:
                    one.extra.update(value)
            test.user_properties.clear()
            # Kept even where the test filed some items before it failed: the items it never
            # reached name this error (they said "no suite filed the item", and the TA was
            # told to regrade, which changed nothing). Items it filed keep their verdicts.
            if test.nodeid in self._failures:
                one.suite_error(self._failures[test.nodeid])


# Said of a suite's relative import, which fails however the package is laid out: pytest
# collects the suites folder on its own, not as part of the assignment's package. Short: the
# summary and `grader check` show 160 characters of it.
RELATIVE_IMPORT = (
    "a relative import (ImportError); import the package by its full name "
    "(docs/new-assignment.md, section 4)"
)


def collect_error(nodeid: str, text: str) -> str:
    """A suite that could not be collected, its last line naming the file and the error (the
    TA's summary and `grader check` show that line alone: it was pytest's bare 'E   ImportError:
    ...', which named no suite), with the fix for a relative import."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    last = lines[-1].strip().removeprefix("E").strip() if lines else "no message"
    if "attempted relative import" in last:
        last = RELATIVE_IMPORT
    return f"{text[-2000:]}\n{nodeid or 'a suite'} cannot be imported: {last}"


def pytest_args(suites: Path | str) -> list[str]:
    """How pytest is run over an assignment's suites: by the grader, and by `grader
    gradescope-zip` collecting the zip's suites before it is written."""
    return [
        str(suites),
        "-o",
        "python_files=test_*.py",
        "--rootdir",
        str(suites),
        "-c",
        "/dev/null",
        "--capture=sys",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *(arg for plugin in UNUSED_PLUGINS for arg in ("-p", f"no:{plugin}")),
    ]


class SuiteRunner:
    """A pytest session over `suites` that grades one submission per `run` call."""

    def __init__(self, suites: Path) -> None:
        self.suites = suites
        self.pid = os.getpid()  # a forked copy of the grader has no such thread: it needs its own
        self._plugin = SuitePlugin()
        self._exit: str | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True, name="pytest")
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self.pid == os.getpid()

    def run(self, session: Session, public_only: bool) -> tuple[list[ItemResult], dict]:
        """Every test over one submission: the items they filed and any extra records."""
        one = _Pass(session, public_only)
        self._plugin.passes.put(one)
        try:
            while not one.done.wait(1.0):
                if not self._thread.is_alive():
                    raise RuntimeError(f"the suites in {self.suites} stopped: {self._exit}")
        except BaseException:
            # Ctrl-C (or the above): the pass in flight must end before the next submission's.
            session.stop()
            one.done.wait(10)
            raise
        return one.items, one.extra

    def close(self) -> None:
        if self.alive:
            self._plugin.passes.put(None)
            self._thread.join(10)

    def _serve(self) -> None:
        try:
            code = pytest.main(pytest_args(self.suites), plugins=[self._plugin])
            self._exit = f"pytest exited with code {code}"
        except BaseException:  # noqa: BLE001 - reported to whoever waits for a pass
            self._exit = traceback.format_exc()[-3000:]
        finally:
            while True:  # nobody is left to run what is queued: say so rather than hang
                try:
                    waiting = self._plugin.passes.get_nowait()
                except queue.Empty:
                    break
                if waiting is not None:
                    waiting.suite_error(f"the suites in {self.suites} stopped: {self._exit}")
                    waiting.done.set()
