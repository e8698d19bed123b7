"""Timing: each function's calls against a budget, and the non-scoring flag for a TA.

No test here measures a real time: the rule is tested with injected times (a made-up table of
seconds, or a budget set below any time; which calls the session times is in test_session.py),
as the project's tests never assert on speed (the figures behind the budget are in
bench/numerical_differentiation.py).
"""

from __future__ import annotations

import pytest
from conftest import solution

from grader import timing
from grader.report.summary import summarize
from grader.timing import SLOW_CALL_SECONDS, CallTimer, slow_review, summary

FAST, SLOW = SLOW_CALL_SECONDS / 100, SLOW_CALL_SECONDS * 50


def test_the_timer_keeps_each_function_s_calls_in_order():
    timer = CallTimer()
    timer.add("exercise2.dlogits", 0.5)
    timer.add("exercise1.dprobs", 0.1)
    timer.add("exercise2.dlogits", 2.0)
    assert timer.seconds == {"exercise2.dlogits": [0.5, 2.0], "exercise1.dprobs": [0.1]}


def test_functions_within_the_budget_raise_no_flag():
    assert slow_review({"exercise1.dprobs": [FAST] * 6, "exercise3.backward": [FAST] * 9}) is None


def test_a_function_far_above_the_budget_is_named_with_its_median():
    review = slow_review(
        {
            "exercise1.dprobs": [FAST] * 6,
            "exercise2.dlogits": [SLOW, SLOW, FAST],
            "exercise3.backward": [SLOW * 10] * 9,
        }
    )
    assert review["flag"] == "slow_functions"
    assert review["functions"] == ["exercise3.backward", "exercise2.dlogits"]
    assert review["median_s"]["exercise2.dlogits"] == pytest.approx(SLOW)
    assert "numerical differentiation?" in review["reason"]
    assert "exercise3.backward" in review["reason"] and "exercise2.dlogits" in review["reason"]


def test_one_slow_call_among_fast_ones_is_noise_not_a_flag():
    """A pause of the machine during one call must not put a correct submission on the list."""
    assert slow_review({"exercise1.dW1": [FAST, FAST, SLOW, FAST, FAST]}) is None


def test_the_timing_summary_lists_every_function_against_the_budget():
    got = summary({"exercise1.dprobs": [0.002, 0.001, 0.003]})
    assert got == {
        "budget_s": SLOW_CALL_SECONDS,
        "functions": {"exercise1.dprobs": {"calls": 3, "median_s": 0.002, "max_s": 0.003}},
    }


def test_a_flagged_submission_needs_a_look_in_the_summary():
    flagged = {
        "submission": "ann",
        "score": 100.0,
        "max_score": 100.0,
        "items": [],
        "review": [slow_review({"exercise3.backward": [SLOW] * 9})],
    }
    clean = {"submission": "bob", "score": 100.0, "max_score": 100.0, "items": []}
    rows = {s["submission"]: s for s in summarize([flagged, clean], ["ann", "bob"])["students"]}
    assert any("exercise3.backward" in why for why in rows["ann"]["attention"])
    assert rows["bob"]["attention"] == []


def test_the_flag_is_in_result_json_and_never_changes_the_score(grade, monkeypatch):
    """With the budget below any real time, every function called is flagged: the score of a
    correct submission stays 100 and every item still passes."""
    monkeypatch.setattr(timing, "SLOW_CALL_SECONDS", -1.0)
    result = grade({f: solution(f) for f in ("exercise1", "exercise2", "exercise3")})
    assert result["score"] == 100.0
    assert all(i["status"] == "passed" for i in result["items"])
    (review,) = result["review"]
    assert {"exercise1.dprobs", "exercise2.dlogits", "exercise3.backward"} <= set(
        review["functions"]
    )
    assert set(result["timing"]["functions"]) == set(review["functions"])
    assert result["timing"]["functions"]["exercise2.dlogits"]["calls"] >= 1


def test_a_correct_submission_has_timings_but_no_flag_by_default(grade, monkeypatch):
    """The budget raised far above any time: what is recorded, and that nothing is flagged."""
    monkeypatch.setattr(timing, "SLOW_CALL_SECONDS", 1e9)
    result = grade({"exercise2": solution("exercise2")})
    assert result["review"] == []
    assert set(result["timing"]["functions"]) == {"exercise2.dlogits", "exercise2.dhprebn"}
