"""The rubric: points per item that total 100 by default, and how an item's cases become a score."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.assignment import load
from grader.records import CaseResult, ItemResult
from grader.scoring import ItemRule, Rubric, RubricError, exercise_totals, load_rubric, score_items

ASSIGNMENT = load()
IDS = ("exercise1.dprobs", "exercise1.db1", "exercise2.dlogits", "exercise3.training")


def rubric_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric.yaml"
    path.write_text(text)
    return path


def cases(*statuses: str) -> list[CaseResult]:
    return [
        CaseResult(case=f"c{i}", seed=i, public=i == 0, config={}, status=s)
        for i, s in enumerate(statuses)
    ]


def item(item_id: str, status: str, *case_statuses: str) -> ItemResult:
    return ItemResult(
        id=item_id, exercise=item_id.split(".")[0], status=status, cases=cases(*case_statuses)
    )


def scored(rule: ItemRule, it: ItemResult) -> float:
    score_items([it], Rubric({it.id: rule}, "after_published"))
    assert it.max_score == rule.points
    return it.score


# The default rubric


def test_the_default_rubric_totals_100():
    rubric = load_rubric(ASSIGNMENT.rubric, ASSIGNMENT.item_ids)
    assert rubric.total == 100
    assert set(rubric.rules) == set(ASSIGNMENT.item_ids)


def test_the_default_rubric_gives_the_mathematically_zero_gradients_little_weight():
    rules = load_rubric(ASSIGNMENT.rubric, ASSIGNMENT.item_ids).rules
    assert rules["exercise1.dlogit_maxes"].points < rules["exercise1.dlogits"].points
    assert rules["exercise1.db1"].points < rules["exercise1.dW1"].points
    assert rules["exercise3.db1"].points < rules["exercise3.dW1"].points


def test_the_default_rubric_gives_partial_credit():
    rules = load_rubric(ASSIGNMENT.rubric, ASSIGNMENT.item_ids).rules
    assert {r.mode for r in rules.values()} == {"share_of_cases"}


# Rubric files


def test_points_come_from_the_exercise_default_then_its_list_then_the_item(tmp_path):
    path = rubric_file(
        tmp_path,
        "exercises:\n"
        "  exercise1: {default_points: 3, points: {db1: 0.5}}\n"
        "items:\n"
        "  exercise3.training: {points: 40, mode: all_or_nothing, visibility: hidden}\n",
    )
    rules = load_rubric(path, IDS).rules
    assert rules["exercise1.dprobs"] == ItemRule(3.0, "share_of_cases", "visible")
    assert rules["exercise1.db1"].points == 0.5
    assert rules["exercise2.dlogits"].points == 1.0  # no exercise default: 1 point
    assert rules["exercise3.training"] == ItemRule(40.0, "all_or_nothing", "hidden")


def test_a_rubric_wide_mode_applies_to_every_item(tmp_path):
    rules = load_rubric(rubric_file(tmp_path, "mode: all_or_nothing\n"), IDS).rules
    assert {r.mode for r in rules.values()} == {"all_or_nothing"}


def test_visibility_comes_from_the_rubric_then_the_exercise_then_the_item(tmp_path):
    """One line holds every item (points included) until grades are published: the way to keep
    hidden-case counts from students until then (docs/gradescope.md)."""
    path = rubric_file(
        tmp_path,
        "visibility: after_published\n"
        "exercises:\n"
        "  exercise2: {visibility: after_due_date}\n"
        "items:\n"
        "  exercise1.db1: {visibility: visible}\n",
    )
    rules = load_rubric(path, IDS).rules
    assert {k: r.visibility for k, r in rules.items()} == {
        "exercise1.dprobs": "after_published",
        "exercise1.db1": "visible",
        "exercise2.dlogits": "after_due_date",
        "exercise3.training": "after_published",
    }


def test_the_training_run_is_never_shown_before_the_gradients_it_tells_of(tmp_path):
    """Its message names the gradients it took from autograd, and it is made again when one
    fails on hidden cases alone (a red team read a held dW2's hidden failures from it)."""
    path = rubric_file(tmp_path, "items:\n  exercise3.dW2: {visibility: after_published}\n")
    rules = load_rubric(path, ASSIGNMENT.item_ids, ASSIGNMENT.tells).rules
    assert rules["exercise3.training"].visibility == "after_published"
    assert rules["exercise3.dW1"].visibility == "visible"
    shown = load_rubric(ASSIGNMENT.rubric, ASSIGNMENT.item_ids, ASSIGNMENT.tells).rules
    assert shown["exercise3.training"].visibility == "visible"


def test_the_wavenet_run_is_never_shown_before_the_layers_it_names(tmp_path):
    """layer-by-layer's run says which backward failed in it, or which parameter drifted."""
    layers = load("layer-by-layer")
    path = rubric_file(tmp_path, "items:\n  layers.batchnorm_3d: {visibility: after_due_date}\n")
    rules = load_rubric(path, layers.item_ids, layers.tells).rules
    assert rules["layers.training"].visibility == "after_due_date"
    assert rules["layers.linear"].visibility == "visible"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("items:\n  exercise1.dprobz: {points: 2}\n", "unknown items ['exercise1.dprobz']"),
        ("mode: best_of\n", "mode 'best_of'"),
        ("items:\n  exercise1.dprobs: {points: -1}\n", "must be a finite number >= 0"),
        ("items:\n  exercise1.dprobs: {points: two}\n", "must be a finite number >= 0"),
        ("items:\n  exercise1.dprobs: {points: .nan}\n", "must be a finite number >= 0"),
        ("exercises:\n  exercise1: {points: {dprobs: .inf}}\n", "must be a finite number"),
        ("exercises: [\n", "cannot read the rubric"),
        # A misspelt key, exercise or function was read as nothing: every item it was to hold
        # back was shown (a red team's `visiblity:` at each level, `exercise_3:`, `exercise:`).
        ("visiblity: after_published\n", "unknown settings ['visiblity']"),
        ("exercise:\n  exercise3: {visibility: hidden}\n", "unknown settings ['exercise']"),
        ("exercises:\n  exercise_3: {visibility: hidden}\n", "unknown exercise 'exercise_3'"),
        ("exercises:\n  exercise1: {visiblity: hidden}\n", "exercise exercise1: unknown"),
        ("exercises:\n  exercise1: {points: {dprob: 3}}\n", "unknown functions ['dprob']"),
        ("items:\n  exercise3.training: {visiblity: hidden}\n", "item exercise3.training: unk"),
        ("items:\n  exercise3.training: hidden\n", "expected a mapping of settings"),
        ("- visible\n", "is not a mapping of settings"),
        # A list where a mapping belongs stopped the grading with an AttributeError.
        ("exercises:\n  - exercise1\n", "`exercises` must be a mapping"),
        ("exercises:\n  exercise1: {points: [dprobs]}\n", "`points` must be a mapping"),
        ("items:\n  - exercise1.dprobs\n", "`items` must be a mapping"),
    ],
)
def test_a_broken_rubric_is_an_error_naming_the_problem(tmp_path, text, says):
    with pytest.raises(RubricError) as err:
        load_rubric(rubric_file(tmp_path, text), IDS)
    assert says in str(err.value)


@pytest.mark.parametrize("text", ["exercises:\n", "exercises:\n  exercise1:\n"])
def test_an_exercise_or_section_left_empty_keeps_the_defaults(tmp_path, text):
    """An exercise named with nothing under it (a TA's rubric with its settings still to
    write) stopped the grading with "'NoneType' object has no attribute 'get'", where an item
    left so (`items: {exercise1.dprobs: }`) already kept its defaults."""
    rules = load_rubric(rubric_file(tmp_path, text), IDS).rules
    assert rules["exercise1.dprobs"] == ItemRule(1.0, "share_of_cases", "visible")


def test_a_missing_rubric_file_is_an_error(tmp_path):
    with pytest.raises(RubricError, match="cannot read the rubric"):
        load_rubric(tmp_path / "nope.yaml", IDS)


# Scores


def test_share_of_cases_scores_the_share_that_passed():
    it = item("exercise1.dprobs", "failed", "passed", "failed", "passed", "passed")
    assert scored(ItemRule(2.0, "share_of_cases", "visible"), it) == 1.5


def test_all_or_nothing_scores_only_a_full_pass():
    rule = ItemRule(2.0, "all_or_nothing", "visible")
    assert scored(rule, item("exercise1.dprobs", "failed", "passed", "failed")) == 0.0
    assert scored(rule, item("exercise1.dprobs", "passed", "passed", "passed")) == 2.0


@pytest.mark.parametrize("status", ["forbidden", "missing"])
def test_forbidden_or_missing_scores_zero_whatever_the_cases_say(status):
    it = item("exercise1.dprobs", status, "passed", "passed", status)
    assert scored(ItemRule(2.0, "share_of_cases", "visible"), it) == 0.0


def test_a_timeout_on_one_case_keeps_the_others_credit():
    it = item("exercise1.dprobs", "timeout", "passed", "timeout", "passed", "passed")
    assert scored(ItemRule(4.0, "share_of_cases", "visible"), it) == 3.0


def test_an_item_without_cases_scores_by_its_status():
    rule = ItemRule(17.0, "share_of_cases", "visible")
    assert scored(rule, item("exercise3.training", "passed")) == 17.0
    assert scored(rule, item("exercise3.training", "failed")) == 0.0


@pytest.mark.parametrize("mode", ["share_of_cases", "all_or_nothing"])
def test_a_full_pass_scores_the_item_s_points_whatever_their_decimals(mode):
    """Points of more decimals than a score keeps (three items of 33.3333333, a course's 100
    split three ways): a full pass scored 33.3333 of 33.3333333, so a perfect submission got
    99.9999 of 100 on Gradescope and in grades.csv, and the summary counted no full marks.
    Scores and points are kept to the same 4 decimals."""
    ids = ("exercise1.dprobs", "exercise1.db1", "exercise2.dlogits")
    items = [item(i, "passed", "passed", "passed") for i in ids]
    score_items(items, Rubric({i: ItemRule(33.3333333, mode, "visible") for i in ids}, "hidden"))
    assert all(it.score == it.max_score > 0 for it in items), [
        (i.score, i.max_score) for i in items
    ]
    totals = exercise_totals(items)
    assert all(t["score"] == t["max_score"] for t in totals.values()), totals
    assert round(sum(i.score for i in items), 4) == round(sum(i.max_score for i in items), 4)


def test_an_item_the_rubric_does_not_know_scores_nothing():
    it = item("exercise9.extra", "passed", "passed")
    score_items([it], Rubric({}, "after_published"))
    assert it.score == 0.0 and it.max_score == 0.0


def test_the_visibility_of_the_rule_reaches_the_item():
    it = item("exercise1.dprobs", "passed", "passed")
    score_items([it], Rubric({it.id: ItemRule(2.0, "share_of_cases", "hidden")}, "hidden"))
    assert it.visibility == "hidden"


def test_exercise_totals_add_up_per_exercise():
    items = [item("exercise1.dprobs", "passed"), item("exercise1.db1", "failed")]
    items += [item("exercise2.dlogits", "passed")]
    rules = {
        "exercise1.dprobs": ItemRule(2.0, "share_of_cases", "visible"),
        "exercise1.db1": ItemRule(1.0, "share_of_cases", "visible"),
        "exercise2.dlogits": ItemRule(10.0, "share_of_cases", "visible"),
    }
    score_items(items, Rubric(rules, "after_published"))
    assert exercise_totals(items) == {
        "exercise1": {"score": 2.0, "max_score": 3.0},
        "exercise2": {"score": 10.0, "max_score": 10.0},
    }
