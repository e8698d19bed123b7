"""The one grading pipeline, end to end: what every front door can rely on."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, failing, item, mutated, solution

from grader.backprop_ninja import ASSIGNMENT
from grader.backprop_ninja.examples import EXAMPLES
from grader.submissions import Submission

ALL = ("exercise1", "exercise2", "exercise3")


def test_the_solutions_score_full_marks(grade):
    result = grade({f: solution(f) for f in ALL})
    assert result["score"] == result["max_score"] == 100.0
    assert failing(result) == set()
    assert result["chain"]["first_departure"] is None and result["chain"]["unreached"] == []


def test_the_stubs_score_zero_with_every_item_not_implemented(grade):
    result = grade(
        {f: (ROOT / "assignments" / "backprop-ninja" / f"{f}.py").read_text() for f in ALL}
    )
    assert result["score"] == 0.0
    assert {i["status"] for i in result["items"]} == {"not_implemented"}


def test_every_item_appears_in_order_whatever_was_submitted(grade):
    for files in ({}, {"exercise2": solution("exercise2")}, {"exercise1": "x = ("}):
        result = grade(files)
        assert [i["id"] for i in result["items"]] == list(ASSIGNMENT.item_ids)


def test_a_missing_file_scores_zero_for_its_exercise_only(grade):
    result = grade({"exercise2": solution("exercise2")})
    assert result["exercises"]["exercise2"]["score"] == 20.0
    assert item(result, "exercise1.dC")["status"] == "missing"
    assert "exercise1.py was not submitted" in item(result, "exercise1.dC")["message"]
    assert item(result, "exercise3.training")["status"] == "missing"


def test_a_file_that_does_not_parse_is_an_error_for_its_items_with_the_reason(grade):
    result = grade({"exercise1": "def dlogprobs(:\n", "exercise2": solution("exercise2")})
    dc = item(result, "exercise1.dC")
    assert dc["status"] == "error" and "does not parse" in dc["message"]
    assert item(result, "exercise2.dlogits")["status"] == "passed"


def test_binary_and_non_utf8_files_are_errors_that_say_why(grade):
    result = grade({"exercise1": b"\x00\x01\x02", "exercise2": "x = 'caf\xe9'".encode("latin-1")})
    assert "binary" in item(result, "exercise1.dlogprobs")["message"]
    assert "UTF-8" in item(result, "exercise2.dlogits")["message"]
    assert result["files"]["exercise3"] == "missing"


def test_each_example_fails_exactly_the_items_its_mistake_touches(grade, tmp_path):
    """The example class is realistic: each classic mistake costs its own items, nothing else."""
    expected = {
        "complete": set(),
        "bessel": {"exercise1.dbndiff2"},
        "missing_branch": {"exercise1.dcounts"},
        "no_div_n": {"exercise2.dlogits"},
    }
    out = tmp_path / "examples"  # not in the checkout: two suites may run there at once
    subprocess.run([sys.executable, "-m", "grader.cli", "examples", str(out)], check=True,
                   capture_output=True)  # fmt: skip
    assert set(expected) <= set(EXAMPLES)
    for name, wrong in expected.items():
        files = {f: (out / name / f"{f}.py").read_text() for f in ALL}
        assert failing(grade(files, name)) == wrong, name


def test_notes_and_file_states_quote_names_on_one_line_in_their_own_order(grader):
    """A file name quoted into a note or a file's state cannot add a line or turn the words
    around it: result.json holds its breaks and bidi controls as escapes, as repr shows them."""
    from grader.submissions import Submission

    name = "evil\nScore: 100 / 100\r\x1b[2J\u202e)9001 :dis(\u2069"
    sub = Submission(
        "student",
        dict.fromkeys(grader.assignment.files),
        notes=[f"skipped {name}: a link, not a regular file"],
        absent={"exercise1": f"missing: not in your upload, which held {name}"},
    )
    result = grader.grade(sub).to_json()
    shown = "evil\\nScore: 100 / 100\\r\\x1b[2J\\u202e)9001 :dis(\\u2069"
    assert result["student"]["notes"] == [f"skipped {shown}: a link, not a regular file"]
    assert result["files"]["exercise1"] == f"missing: not in your upload, which held {shown}"
    assert result["files"]["exercise1"].isprintable()


def test_a_result_keeps_a_bounded_number_of_notes_each_of_bounded_length(grader):
    """Every place that writes a note a cell or a file entry can be driven thousands of times
    by one upload (a notebook of 90,000 cells holding a lone surrogate each made a 40 MB
    result.json and a 21 MB report from a 4 MB notebook): whatever wrote them, a result keeps
    the first hundred, each cut, and counts the rest."""
    from grader.pipeline import MAX_NOTE, MAX_NOTES
    from grader.submissions import Submission

    notes = [f"skipped {k}: {'A' * 10_000}" for k in range(5_000)]
    sub = Submission("student", dict.fromkeys(grader.assignment.files), notes=notes)
    kept = grader.grade(sub).to_json()["student"]["notes"]
    assert len(kept) == MAX_NOTES + 1 and kept[-1] == "... and 4,900 more notes, left out"
    assert all(len(n) <= MAX_NOTE for n in kept) and kept[1].startswith("skipped 1: AAA")
    assert kept[:2] != notes[:2]  # cut: 10,000 characters each
    assert sum(map(len, kept)) < 500_000


def test_a_file_held_twice_says_why_on_each_item_not_that_it_was_not_submitted(grader, tmp_path):
    """Two differing copies of exercise2.py in one upload are graded as neither: each of its
    items said "exercise2.py was not submitted" (in the report, check and on Gradescope) to a
    student who had submitted it twice; the reason was in the file's state alone."""
    from grader.submissions import read_submission

    for folder, text in (("a", solution("exercise2")), ("b", solution("exercise2") + "\n# v2\n")):
        (tmp_path / "up" / folder).mkdir(parents=True)
        (tmp_path / "up" / folder / "exercise2.py").write_text(text)
    (tmp_path / "up" / "exercise1.py").write_text(solution("exercise1"))
    sub = read_submission(tmp_path / "up", "twice", grader.assignment.files)
    result = grader.grade(sub).to_json()
    state = result["files"]["exercise2"]
    assert state.startswith("ambiguous: a/exercise2.py, b/exercise2.py could each be")
    for item_id in ("exercise2.dlogits", "exercise2.dhprebn"):
        assert item(result, item_id)["status"] == "missing"
        assert f"exercise2.py: {state}" in item(result, item_id)["message"]
        assert "not submitted" not in item(result, item_id)["message"]
    training = item(result, "exercise3.training")["message"]
    assert "exercise3.py: not in your upload, which held exercise1.py, a/exercise2.py" in training


def test_the_fingerprint_tells_apart_uploads_whose_bytes_only_run_together(grader):
    """The fingerprint decides whether a result is kept (batch._reused): two uploads must never
    share one because a file's bytes can hold what separated the files (a NUL and the next
    file's name) or the word that stood for a missing file."""
    files = grader.assignment.files
    a, b = files[0], files[1]

    def fp(contents: dict[str, bytes | None]) -> str:
        return grader.fingerprint(Submission("s", {f: contents.get(f) for f in files}))

    run = f"\0{b}\0".encode()
    assert fp({a: b"A", b: b"X" + run + b"C"}) != fp({a: b"A" + run + b"X", b: b"C"})
    assert fp({a: b"<none>"}) != fp({})
    assert fp({a: b""}) != fp({})
    assert fp({a: b"A"}) == fp({a: b"A"})


def test_the_fingerprint_follows_the_torch_and_python_that_grade(grader, monkeypatch):
    """A torch upgraded under the course's environment (or a shard graded on another machine's)
    grades the class again: a result the old torch gave is not kept as "unchanged since"."""
    from importlib import metadata

    from grader.pipeline import runtime

    sub = Submission("s", {f: b"x = 1\n" for f in grader.assignment.files})
    before = grader.fingerprint(sub)
    real = metadata.version

    def upgraded(name: str) -> str:
        return "99.0.0+cpu" if name == "torch" else real(name)

    monkeypatch.setattr(metadata, "version", upgraded)
    monkeypatch.setattr(grader, "_runtime", runtime())  # as a grader started now reads it
    after = grader.fingerprint(sub)
    assert after != before
    monkeypatch.setattr(platform, "python_version", lambda: "3.99.0")
    monkeypatch.setattr(grader, "_runtime", runtime())  # as a grader started now reads it
    assert grader.fingerprint(sub) not in (before, after)
    monkeypatch.undo()
    monkeypatch.setattr(grader, "_runtime", runtime())  # as a grader started now reads it
    assert grader.fingerprint(sub) == before


def test_a_rubric_changed_while_grading_leaves_its_results_to_be_graded_again(tmp_path):
    """The fingerprint hashes the rubric as the grader read it, not as it is at the first result:
    a rubric edited while a --force batch ran (5 points for 10) gave results scored by the old
    one the new rubric's fingerprint, and the next run kept them all as "unchanged since"."""
    import dataclasses

    from grader.pipeline import Grader

    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(ASSIGNMENT.rubric.read_text())
    assignment = dataclasses.replace(ASSIGNMENT, rubric=rubric)
    sub = Submission("s", {f: b"x = 1\n" for f in ASSIGNMENT.files})
    running = Grader(assignment=assignment, eager_sandbox=False)
    rubric.write_text(rubric.read_text().replace("default_points: 10", "default_points: 5"))
    kept = running.fingerprint(sub)
    later = Grader(assignment=assignment, eager_sandbox=False)
    try:
        assert running.rubric.total != later.rubric.total  # one read the old, one the new
        assert kept != later.fingerprint(sub)
    finally:
        running.close()
        later.close()


def test_a_result_graded_on_the_public_cases_alone_says_so_to_the_ta(grade):
    """`grader grade --public-only` wrote grades.csv and the summary with scores the hidden
    cases never checked, and nothing said so: each result now carries the `public_only` flag,
    on the TA's list, kept where a later run keeps the result."""
    from grader.pipeline import Grader
    from grader.report.summary import attention

    sub = Submission("s", {f: solution(f).encode() for f in ALL})
    public = Grader(public_only=True)
    try:
        result = public.grade(sub).to_json()
        kept = public.discovered(sub, result)
    finally:
        public.close()
    assert [f["flag"] for f in result["review"]] == ["public_only"]
    assert any("--public-only" in why for why in attention(result))
    assert kept["review"] == result["review"]
    assert grade({f: solution(f) for f in ALL})["review"] == []


def test_an_assignments_digest_follows_its_files_wherever_it_is_kept(tmp_path):
    """The fingerprint's cover of an assignment (content_digest): any file of its suites or
    rubric, data included, changes it, Python's caches do not, and the same files in another
    folder (a shard of a batch on another machine) give the same digest, so results graded
    apart are still kept where they are merged."""
    import dataclasses

    from grader.pipeline import content_digest

    def assignment(root: Path):
        (root / "suites" / "__pycache__").mkdir(parents=True, exist_ok=True)
        (root / "suites" / "test_tiny.py").write_text("def test_it(): pass\n")
        (root / "suites" / "hidden.json").write_text('{"seed": 1}')
        (root / "rubric.yaml").write_text("mode: share_of_cases\n")
        return dataclasses.replace(
            ASSIGNMENT, suites=root / "suites", rubric=root / "rubric.yaml", package=""
        )

    here, there = assignment(tmp_path / "a"), assignment(tmp_path / "b")
    first = content_digest(here)
    assert content_digest(there) == first
    (tmp_path / "a" / "suites" / "__pycache__" / "test_tiny.pyc").write_bytes(b"\0")
    assert content_digest(here) == first
    (tmp_path / "a" / "suites" / "hidden.json").write_text('{"seed": 2}')
    assert content_digest(here) != first
    (tmp_path / "b" / "rubric.yaml").write_text("mode: all_or_nothing\n")
    assert content_digest(there) not in (first, content_digest(here))
    assert content_digest(dataclasses.replace(there, name="other")) != content_digest(there)


def test_every_public_call_of_a_submission_comes_before_any_hidden_one(grade, monkeypatch):
    """What a student sees before grades are published (public cases, the chain, the training
    run) is answered before any process of the submission is handed a hidden input, so no
    process has anything hidden to tell, or to signal to another file's process."""
    from grader.session import Session

    calls = []
    real = Session.call_each

    def logged(self, file, func, availables, allowed, public=False, **scope):
        flags = [public] * len(availables) if isinstance(public, bool) else list(public)
        calls.extend((file, func, flag) for flag in flags)
        return real(self, file, func, availables, allowed, public, **scope)

    monkeypatch.setattr(Session, "call_each", logged)
    result = grade({f: solution(f) for f in ("exercise1", "exercise2", "exercise3")})
    assert result["score"] == result["max_score"]
    first_hidden = next(i for i, (_, _, public) in enumerate(calls) if not public)
    assert all(not public for _, _, public in calls[first_hidden:]), calls[first_hidden:][:5]
    public_files = {file for file, _, public in calls[:first_hidden]}
    assert public_files == {"exercise1", "exercise2", "exercise3"}
    assert sum(func == "backward" for _, func, _ in calls[:first_hidden]) > 8  # the training run


def test_files_handed_true_gradients_are_judged_on_hidden_cases_after_the_others(
    grade, monkeypatch
):
    """Exercise 1's functions are handed autograd's upstream gradients (dlogits to dh, dhprebn
    to dembcat, demb to dC), from which exercise 2's and 3's answers follow, and a process can
    signal what it was handed to a later one (the page cache, docs/threat-model.md): so on
    hidden cases exercise 3 (handed no gradient) comes first, then exercise 2, and exercise 1
    last, each file's hidden calls in one block."""
    from grader.session import Session

    hidden_files = []
    real = Session.call_each

    def logged(self, file, func, availables, allowed, public=False, **scope):
        flags = [public] * len(availables) if isinstance(public, bool) else list(public)
        if not all(flags) and (not hidden_files or hidden_files[-1] != file):
            hidden_files.append(file)
        return real(self, file, func, availables, allowed, public, **scope)

    monkeypatch.setattr(Session, "call_each", logged)
    result = grade({f: solution(f) for f in ("exercise1", "exercise2", "exercise3")})
    assert result["score"] == result["max_score"]
    assert hidden_files == ["exercise3", "exercise2", "exercise1"]


def test_result_json_carries_case_details_and_seeds(grade):
    result = grade({"exercise1": solution("exercise1")})
    cases = item(result, "exercise1.dW1")["cases"]
    assert cases[0]["public"] is True and cases[0]["config"]["n"] == 32
    assert len({c["seed"] for c in cases}) == len(cases) > 1
    for c in cases:
        assert c["passed"] and c["max_rel_err"] < 1e-4 and c["shape"] == c["expected_shape"]
    json.dumps(result)  # plain JSON all the way down


def test_student_output_is_captured_per_file(grade):
    src = solution("exercise2").replace("import torch", "import torch\nprint('hello from ex2')", 1)
    result = grade({"exercise2": src})
    assert "hello from ex2" in result["output"]["exercise2"]


def test_grading_twice_gives_the_same_result_apart_from_timestamps(grade):
    files = {f: solution(f) for f in ALL}
    files["exercise1"] = files["exercise1"].replace("import torch", "import torch\nprint(1)", 1)
    first, second = grade(files), grade(files)
    for r in (first, second):
        r.pop("graded_at"), r.pop("duration_s"), r.pop("timing")
    assert first == second


# Every kind of wrong answer, one per call in turn: the decoding and judging of each (NaN, inf,
# float32 1e30 too large, bfloat16, float16, an integer tensor, a dict, a list, a raise holding
# terminal controls, 200,000 characters printed, a wrong shape, a subnormal answer, -0) and an
# allocation the process's limit refuses.
_EVERY_WRONG_ANSWER = """

_CALLS = [0]


def _wrong(right):
    _CALLS[0] += 1
    k = _CALLS[0] % 14
    if k == 0:
        return torch.full_like(right, float("nan"))
    if k == 1:
        return torch.full_like(right, float("inf"))
    if k == 2:
        return right.float() * 1e30
    if k == 3:
        return right.to(torch.bfloat16)
    if k == 4:
        return right.half()
    if k == 5:
        return right.long()
    if k == 6:
        return {"a": right, "b": right}
    if k == 7:
        return [right, right]
    if k == 8:
        raise ValueError("\\u202e\\x1b]52;c;AAAA\\x07" + "x" * 9000)
    if k == 9:
        print("P" * 200_000)
        return right * 2
    if k == 10:
        return right.reshape(-1)[:1]
    if k == 11:
        return right * torch.tensor(5e-324, dtype=right.dtype)
    if k == 12:
        return (right * 0).neg()
    return [0] * 10**10
"""


def _answering_wrong(name: str) -> str:
    """The solution's file with each function's answer put through `_wrong`."""
    import re

    src = solution(name)
    src = re.sub(r"^    return (.+)$", r"    return _wrong(\1)", src, flags=re.MULTILINE)
    imports = "import torch.nn.functional as F"
    return src.replace(imports, imports + _EVERY_WRONG_ANSWER, 1)


def _torch_settings() -> tuple:
    """torch's process-wide settings, which decoding or judging an answer could change."""
    import torch

    return (
        torch.get_default_dtype(),
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        dict(vars(torch._tensor_str.PRINT_OPTS)),
        sys.getrecursionlimit(),
    )


def test_a_result_is_the_same_after_a_hostile_submission_in_the_same_grader(grade, monkeypatch):
    """A grader process grades a batch's submissions one after another and keeps what is worth
    keeping between them: requests framed once, each case's known mistakes and truths' scales,
    pytest and its collected tests, the sandbox. A submission that answers every call wrong in
    another way, crashes at every call of exercise 3 and runs out of memory, graded first with
    those caches empty (so that what it asks for is worked out for it), changes none of torch's
    process-wide settings and leaves the next submission's result as it was graded before it,
    timings apart; a known mistake cached by gradient alone, not by case, fails it. (Red team,
    fortieth session: a batch graded with -j 1, hostile submissions first, gave the example
    classes' results byte for byte.)"""
    from grader import judge
    from grader.backprop_ninja import mistakes
    from grader.sandbox import framing

    def forget() -> None:
        monkeypatch.setattr(mistakes, "_CACHE", {})
        monkeypatch.setattr(framing, "_FRAMED", {})
        monkeypatch.setattr(framing, "_framed_bytes", 0)
        monkeypatch.setattr(judge, "_MAGNITUDES", {})

    honest = {  # two wrong answers of its own, for the hints: a known mistake, a factor
        "exercise1": mutated("exercise1", "-(counts_sum**-2)", "-(counts_sum**-1)"),
        "exercise2": mutated("exercise2", "    dlogits /= n\n", ""),
        "exercise3": solution("exercise3"),
    }
    crashing = mutated("exercise3", "    return {", "    import os\n\n    return os._exit(3) or {")
    forget()
    before = grade(honest, "honest")
    forget()
    settings = _torch_settings()
    wrong = {f: _answering_wrong(f) for f in ("exercise1", "exercise2")}
    hostile = grade({**wrong, "exercise3": crashing}, "hostile")
    assert {i["status"] for i in hostile["items"]} == {"failed", "error"}
    assert "memory" in {r["limit"] for r in hostile["limits_reached"]}
    assert _torch_settings() == settings
    after = grade(honest, "honest")
    for r in (before, after):
        r.pop("graded_at"), r.pop("duration_s"), r.pop("timing")
    assert after == before


def test_the_public_check_shows_no_hidden_case(tmp_path):
    folder = tmp_path / "me"
    folder.mkdir()
    (folder / "exercise2.py").write_text(solution("exercise2"))
    run = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(folder)],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert "dlogits" in run.stdout and "ok" in run.stdout
    assert "hidden-" not in run.stdout  # no hidden case id, config or value
    assert "missing" in run.stdout  # exercise 1 and 3 were not given


def test_grade_exits_zero_whatever_the_scores_and_nonzero_on_bad_input(tmp_path):
    cli = [sys.executable, "-m", "grader.cli", "grade"]
    stubs = str(ROOT / "assignments" / "backprop-ninja")
    ok = subprocess.run([*cli, stubs, "--out", str(tmp_path / "r"),
                         "--no-progress"], capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "r" / "backprop-ninja" / "result.json").read_text())["score"] == 0
    not_there = subprocess.run([*cli, str(tmp_path / "nope"), "--out", str(tmp_path / "r2")],
                               capture_output=True, text=True)  # fmt: skip
    assert not_there.returncode != 0
    assert "does not exist" in not_there.stderr and "Traceback" not in not_there.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = subprocess.run([*cli, str(empty), "--out", str(tmp_path / "r3")],
                             capture_output=True, text=True)  # fmt: skip
    assert nothing.returncode != 0 and "exercise1.py" in nothing.stderr


def test_make_grade_passes_its_variables_to_grader_grade():
    makefile = (ROOT / "Makefile").read_text()
    assert '$(BIN)/grader grade "$(SUBMISSIONS)" --out "$(OUT)" -j $(JOBS)' in makefile
    assert Path(ROOT / ".ci" / "run").read_text().count("make test") == 1


def test_the_cases_messages_of_a_submission_are_bounded_in_all():
    """Each message is capped on its own, but a file raising the longest message it may from
    every call made a 6.7 MB result.json (red team): past the submission's budget a case keeps
    its message's start; the item's own message (its first failure) is left whole."""
    from grader.pipeline import CUT_MESSAGE, MESSAGE_BUDGET, bound_messages
    from grader.records import CaseResult, ItemResult

    def case(k: int) -> CaseResult:
        return CaseResult(f"c{k}", k, True, {}, "error", message=f"{k}:" + "x" * 3_998)

    items = [
        ItemResult(id=f"exercise1.f{i}", exercise="exercise1", status="error", message="m" * 4000,
                   cases=[case(8 * i + k) for k in range(8)])
        for i in range(36)
    ]  # fmt: skip
    bound_messages(items)
    messages = [c.message for it in items for c in it.cases]
    assert sum(map(len, messages)) < MESSAGE_BUDGET + len(messages) * (CUT_MESSAGE + 80)
    assert messages[0] == "0:" + "x" * 3_998  # the first ones whole
    assert messages[-1].startswith("287:") and "more characters cut" in messages[-1]
    assert all(it.message == "m" * 4000 for it in items)


def _grade_with_sandbox_killed(monkeypatch, times: int) -> tuple[dict, str, list[int]]:
    """The solutions graded with the sandbox killed during the first `times` gradings (as the
    first exercise2 call starts): (result.json, the fingerprint of the files, the generation
    of each zygote killed)."""
    from grader.pipeline import Grader
    from grader.sandbox import launch
    from grader.sandbox.client import StudentProcess
    from grader.session import Session

    call_each, start = StudentProcess.call_each, Session.__init__
    armed, kills = [False], []

    def killing_call_each(self, module, func, calls, stop_at=None):
        if module == "exercise2" and armed[0]:
            armed[0] = False
            kills.append(self.zygote.generation)
            launch.kill_sandbox(self.zygote.proc, self.zygote._launched.pidfd)
            self.zygote.proc.wait()
        return call_each(self, module, func, calls, stop_at)

    def arming_start(self, *args, **kwargs):  # a grading starts
        armed[0] = len(kills) < times
        start(self, *args, **kwargs)

    monkeypatch.setattr(StudentProcess, "call_each", killing_call_each)
    monkeypatch.setattr(Session, "__init__", arming_start)
    g = Grader(public_only=True)
    try:
        sub = Submission("unlucky", {f: solution(f).encode() for f in ALL})
        return g.grade(sub).to_json(), g.fingerprint(sub), kills
    finally:
        g.close()


def test_a_sandbox_that_ends_mid_grading_costs_the_submission_nothing(monkeypatch):
    """The zygote killed while a submission is graded (the OOM killer, a stray signal) takes
    the student processes in flight with it: their calls and imports read as the code's own
    crashes (a whole file "failed to import"), saved with the current fingerprint, so no rerun
    regraded them. The submission is graded again, from the start, in a fresh sandbox."""
    result, fingerprint, kills = _grade_with_sandbox_killed(monkeypatch, times=1)
    assert len(kills) == 1
    assert failing(result) == set() and result["score"] == result["max_score"]
    # Graded on the public cases alone, for speed: that flag is the only one.
    assert result["fingerprint"] == fingerprint
    assert [f["flag"] for f in result["review"]] == ["public_only"]


def test_a_sandbox_that_ends_under_both_gradings_is_flagged_and_regraded_later(monkeypatch):
    """Twice in a row: the second grading's result stands, flagged for the TA, and without a
    fingerprint, so the next batch grades the submission again instead of keeping it."""
    result, _, kills = _grade_with_sandbox_killed(monkeypatch, times=2)
    assert len(kills) == 2 and kills[1] > kills[0]
    assert [f["flag"] for f in result["review"]] == ["public_only", "sandbox_ended"]
    assert result["fingerprint"] == ""


def test_a_grader_failure_s_max_score_is_a_graded_result_s(grader):
    """A graded result's max_score is its items' sum rounded to an item score's 4 decimals; a
    grader failure's was the bare sum, so under a rubric of 0.1 points an item it read
    3.600000000000002 where every graded submission read 3.6 (results.json's max_score on
    Gradescope, and the summary's largest max_score, took the noise)."""
    from types import SimpleNamespace

    from grader.pipeline import grader_failure
    from grader.scoring import ItemRule, Rubric

    ids = grader.assignment.item_ids
    tenths = Rubric({i: ItemRule(0.1, "share_of_cases", "visible") for i in ids}, "hidden")
    assert sum(r.points for r in tenths.rules.values()) != round(0.1 * len(ids), 4)
    failing_grader = SimpleNamespace(assignment=grader.assignment, rubric=tenths)
    sub = Submission("broken", dict.fromkeys(grader.assignment.files))
    result = grader_failure(failing_grader, sub, "KeyError: the grader's own")
    assert result["max_score"] == round(0.1 * len(ids), 4)


def test_both_failures_of_the_grader_are_filed_as_its_readers_find_them(grader):
    """A submission the grader failed on (batch: `grade` raised, its process died) and an item
    no suite filed are both errors scoring 0 with the grader's account under `grader_error`,
    one builder for both (pipeline.unjudged_item): the summary's "regrade", the report's grader
    errors, Gradescope's instructor-only test and `grader check` find the failure by that key,
    and a copy filing it otherwise would leave a grader bug scored as the student's."""
    from grader.pipeline import grader_failure
    from grader.report.summary import first_grader_error

    ids = list(grader.assignment.item_ids)
    late = {"flag": "late", "reason": "the upload came after the due date"}
    detail = "x" * 4000 + "\nKeyError: the grader's own"
    sub = Submission("broken", dict.fromkeys(grader.assignment.files), review=[late])
    result = grader_failure(grader, sub, detail)
    assert [i["id"] for i in result["items"]] == ids
    assert {i["status"] for i in result["items"]} == {"error"}
    assert [i["extra"] for i in result["items"]] == [{"grader_error": detail[-3000:]}] * len(ids)
    assert result["score"] == 0 and result["max_score"] == grader.rubric.total
    assert (result["fingerprint"], result["review"]) == ("", [late])
    exercises = dict.fromkeys(grader.assignment.exercise_of(i) for i in ids)
    assert list(result["exercises"]) == list(exercises)
    assert {e["score"] for e in result["exercises"].values()} == {0.0}
    assert sum(e["max_score"] for e in result["exercises"].values()) == grader.rubric.total
    assert first_grader_error(result["items"]) == "KeyError: the grader's own"

    items, unjudged = grader._complete([], {"suite_errors": ["Traceback\nImportError: a suite"]})
    assert unjudged and [i.id for i in items] == ids
    assert {(i.status, i.score) for i in items} == {("error", 0.0)}
    assert first_grader_error([i.to_json() for i in items]) == "ImportError: a suite"


def test_a_process_that_ends_while_the_oom_killer_is_at_work_is_a_limit_reached(grade, monkeypatch):
    """The OOM killer takes a student process first (its oom_score_adj), which then ends without
    answering, as `os._exit` would: where the kernel's count of its kills rose during the
    grading, that end is filed in `limits_reached`, so the next batch grades it again; where it
    did not, the end is the code's own, and the result is kept as before."""
    import itertools

    from grader import session

    ends = "import os\n\ndef dlogits(logits, Yb, n):\n    os._exit(3)\n"
    monkeypatch.setattr(session, "oom_kills", lambda: 7)
    calm = grade({"exercise2": ends})
    assert item(calm, "exercise2.dlogits")["status"] == "error"
    assert "limits_reached" not in calm
    counts = itertools.count(7)
    monkeypatch.setattr(session, "oom_kills", lambda: next(counts))
    killed = grade({"exercise2": ends})
    assert {"limit": "memory_killed", "at": "exercise2.dlogits"} in killed["limits_reached"]
    assert {r["limit"] for r in killed["limits_reached"]} == {"memory_killed"}
    assert killed["score"] == calm["score"] and killed["review"] == []


def test_the_limits_reached_are_those_the_schema_names():
    """Each limit the session files is one result.schema.json allows, and the other way round."""
    from grader import session

    schema = json.loads((ROOT / "docs" / "result.schema.json").read_text())
    allowed = schema["properties"]["limits_reached"]["items"]["properties"]["limit"]["enum"]
    filed = {
        session.CALL_SECONDS,
        session.IMPORT_SECONDS,
        session.TIME_BUDGET,
        session.MEMORY,
        session.MEMORY_KILLED,
        session.PROCESS_START,
    }
    assert sorted(allowed) == sorted(filed)
