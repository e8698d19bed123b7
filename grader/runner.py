"""Running an assignment's pytest suites on one submission, in-process, and reading their verdicts.

pytest starts once per grader process: `pytest.main` is called again for each submission with a
plugin that hands the suites the submission's `Session`. Test modules stay imported between runs
and the cases they build are cached, so a submission pays for its own calls and little else.
Each test files its verdicts through pytest-json-report's `json_metadata`; the report is the only
channel from the suites to the rest of the pipeline.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from pytest_jsonreport.plugin import JSONReport

from .records import CaseResult, ItemResult
from .session import Session

# pytest starts afresh for every submission: plugins the suites do not use cost time at every
# start, and two of them gc.collect() the whole heap or juggle log handlers at every test.
UNUSED_PLUGINS = (
    "cacheprovider", "randomly", "unraisableexception", "threadexception", "logging", "doctest",
    "junitxml", "pastebin", "monkeypatch", "recwarn", "setuponly",
    "setupplan", "stepwise", "faulthandler", "subtests", "debugging", "unittest",
)  # fmt: skip


class SuitePlugin:
    """Fixtures the suites ask for: the submission's session, and whether to run hidden cases."""

    def __init__(self, session: Session, public_only: bool) -> None:
        self._session = session
        self._public_only = public_only

    @pytest.fixture
    def session(self) -> Session:
        return self._session

    @pytest.fixture
    def public_only(self) -> bool:
        return self._public_only

    @pytest.fixture
    def record(self, json_metadata):
        """`record(item, ...)` files items (and `chain=...`) in the test's JSON metadata."""

        def _record(*items: ItemResult, **extra):
            json_metadata.setdefault("items", []).extend(i.to_json() for i in items)
            json_metadata.update(extra)
            return items[0] if len(items) == 1 else items

        return _record


def run_suites(suites: Path, session: Session, public_only: bool) -> tuple[list[ItemResult], dict]:
    """Run every test in `suites`; return the items they filed and any extra records (the chain)."""
    report = JSONReport()
    args = [
        str(suites),
        "-qq",
        "--no-header",
        "--json-report-file=none",
        "-o",
        "python_files=test_*.py",
        "--rootdir",
        str(suites),
        "-c",
        "/dev/null",
        "--capture=sys",
        # A failing item is routine here; pytest's rich tracebacks re-parse the suites each time.
        "--tb=native",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *(arg for plugin in UNUSED_PLUGINS for arg in ("-p", f"no:{plugin}")),
    ]
    with contextlib.redirect_stdout(io.StringIO()) as terminal:  # pytest's own chatter
        code = pytest.main(args, plugins=[SuitePlugin(session, public_only), report])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(
            f"the suites in {suites} did not run (pytest exit code {code}):\n"
            + terminal.getvalue()[-3000:]
        )
    items: list[ItemResult] = []
    extra: dict = {}
    for test in report.report.get("tests", []):
        meta = dict(test.get("metadata", {}))
        filed = meta.pop("items", [])
        items += [item_from_json(i) for i in filed]
        extra.update(meta)
        if test.get("outcome") != "passed" and not filed:
            extra.setdefault("suite_errors", []).append(_crash_text(test))
    for err in report.report.get("collectors", []):
        if err.get("outcome") == "failed":
            extra.setdefault("suite_errors", []).append(err.get("longrepr", "")[-2000:])
    return items, extra


def item_from_json(d: dict) -> ItemResult:
    cases = [CaseResult(**{k: v for k, v in c.items() if k != "passed"}) for c in d["cases"]]
    return ItemResult(**{**d, "cases": cases})


def _crash_text(test: dict) -> str:
    for stage in ("setup", "call", "teardown"):
        longrepr = test.get(stage, {}).get("longrepr")
        if longrepr:
            return f"{test.get('nodeid')}: {longrepr[-2000:]}"
    return f"{test.get('nodeid')}: failed"
