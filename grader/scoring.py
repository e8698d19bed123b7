"""The rubric: points per item, how cases turn into a score, and what students see when.

A rubric is YAML (each assignment has one: rubric.yaml): per-exercise default points, per-item
overrides, and a mode, `share_of_cases` (partial credit) or `all_or_nothing`.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from .assignment import ContentError
from .records import ItemResult

# The decimals of a score as a student or TA reads it (report.html, summary.html, Gradescope's
# page text); result.json, summary.json, grades.csv and Gradescope's `score` fields keep the
# exact number, rounded to SCORE_DECIMALS as each score is made.
SHOWN_DECIMALS = 2
SCORE_DECIMALS = 4

MODES = ("share_of_cases", "all_or_nothing")
# Gradescope's visibility vocabulary, from least to most restricted.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
# What a rubric may say, at each level: a misspelt key (`visiblity:`) would otherwise be read
# as nothing at all, and show every item it was meant to hold back.
RUBRIC_KEYS = frozenset(
    {"assignment", "title", "mode", "hidden_visibility", "visibility", "exercises", "items"}
)
EXERCISE_KEYS = frozenset({"default_points", "points", "visibility"})
ITEM_KEYS = frozenset({"points", "mode", "visibility"})


@dataclass(frozen=True)
class ItemRule:
    points: float
    mode: str
    visibility: str


@dataclass(frozen=True)
class Rubric:
    rules: dict[str, ItemRule]
    hidden_visibility: str

    @property
    def total(self) -> float:
        return sum(r.points for r in self.rules.values())


class RubricError(ContentError):
    """The rubric cannot be read or names what the assignment does not have."""


def load_rubric(
    path: Path, item_ids: tuple[str, ...], tells: Mapping[str, tuple[str, ...]] | None = None
) -> Rubric:
    """Every item id gets a rule; an override naming no known item is an error, not a silent 0,
    and so is a key, exercise or function the rubric does not know. `tells`: items whose
    messages tell other items' verdicts (Assignment.tells); each is held back at least as long
    as the items it tells of."""
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise RubricError(f"cannot read the rubric {path}: {e}") from None
    _check_keys(raw, path, item_ids)
    mode = raw.get("mode", "share_of_cases")
    hidden_visibility = raw.get("hidden_visibility", "after_published")
    # Whole items (points included), for all of them or an exercise's; an item's own wins.
    default_visibility = raw.get("visibility", "visible")
    exercises = raw.get("exercises") or {}
    overrides = raw.get("items") or {}
    unknown = sorted(set(overrides) - set(item_ids))
    if unknown:
        raise RubricError(f"rubric {path} names unknown items {unknown}; known: {list(item_ids)}")
    rules = {}
    for item_id in item_ids:
        exercise, name = item_id.split(".", 1)
        ex = exercises.get(exercise) or {}
        points = (ex.get("points") or {}).get(name, ex.get("default_points", 1))
        over = overrides.get(item_id) or {}
        rule = ItemRule(
            _points(over.get("points", points), item_id, path),
            over.get("mode", mode),
            over.get("visibility", ex.get("visibility", default_visibility)),
        )
        if rule.mode not in MODES:
            raise RubricError(
                f"rubric {path}: mode {rule.mode!r} of {item_id} is not one of {MODES}"
            )
        rules[item_id] = rule
    for item_id, told in (tells or {}).items():
        if item_id in rules:
            shown = visibility(rules[item_id].visibility)
            strictest = functools.reduce(
                stricter, (visibility(rules[t].visibility) for t in told if t in rules), shown
            )
            if strictest != shown:
                rules[item_id] = dataclasses.replace(rules[item_id], visibility=strictest)
    return Rubric(rules, hidden_visibility)


def visibility(value: object, default: str = "after_published") -> str:
    """A Gradescope visibility; a typo (the build rejects them) is the restrictive default."""
    return value if value in VISIBILITIES else default


def stricter(a: str, b: str) -> str:
    return max(a, b, key=VISIBILITIES.index)


def _check_keys(raw: object, path: Path, item_ids: tuple[str, ...]) -> None:
    """Every key at every level is one the rubric knows, every exercise and function too."""
    if not isinstance(raw, dict):
        raise RubricError(f"rubric {path} is not a mapping of settings")
    _known(raw, RUBRIC_KEYS, f"rubric {path}")
    functions: dict[str, set[str]] = {}
    for item_id in item_ids:
        exercise, name = item_id.split(".", 1)
        functions.setdefault(exercise, set()).add(name)
    for exercise, settings in _section(raw, "exercises", f"rubric {path}").items():
        if exercise not in functions:
            raise RubricError(
                f"rubric {path} names an unknown exercise {exercise!r}; known: {list(functions)}"
            )
        where = f"rubric {path}, exercise {exercise}"
        _known(settings or {}, EXERCISE_KEYS, where)
        unknown = sorted(set(_section(settings or {}, "points", where)) - functions[exercise])
        if unknown:
            raise RubricError(f"{where}: points name unknown functions {unknown}")
    for item_id, settings in _section(raw, "items", f"rubric {path}").items():
        _known(settings or {}, ITEM_KEYS, f"rubric {path}, item {item_id}")


def _section(settings: dict, key: str, where: str) -> dict:
    """`settings[key]`, a mapping, or {} where it is left empty. An exercise's `points` written
    as a list, or `exercises:` or `items:` as one, stopped the grading in Python's words
    (`AttributeError: 'list' object has no attribute 'get'`) instead of the rubric's."""
    value = settings.get(key) or {}
    if not isinstance(value, dict):
        raise RubricError(f"{where}: `{key}` must be a mapping, not {value!r}")
    return value


def _known(settings: object, keys: frozenset[str], where: str) -> None:
    if not isinstance(settings, dict):
        raise RubricError(f"{where}: expected a mapping of settings, not {settings!r}")
    unknown = sorted(str(k) for k in settings if k not in keys)
    if unknown:
        raise RubricError(f"{where}: unknown settings {unknown}; known: {sorted(keys)}")


def _points(value: object, item_id: str, path: Path) -> float:
    """A rubric's points: a finite number of at least 0 (a typo must stop the grading, not
    score it). YAML's `.nan` and `.inf` are floats: NaN passed `< 0` and made every total NaN,
    which Gradescope's results.json cannot hold (every student got the grader's failure)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise RubricError(
            f"rubric {path}: points of {item_id} must be a finite number >= 0, not {value!r}"
        )
    return float(value)


def score_items(items: list[ItemResult], rubric: Rubric) -> None:
    """Fill in each item's score and max_score from its cases and its rule, both to 4 decimals:
    points of more (33.3333333, 100 split three ways) gave a full pass 33.3333 of them, and a
    perfect submission 99.9999 of 100."""
    for item in items:
        rule = rubric.rules.get(item.id, ItemRule(0.0, "share_of_cases", "visible"))
        item.max_score = round(rule.points, SCORE_DECIMALS)
        item.visibility = rule.visibility
        passed = sum(c.passed for c in item.cases)
        if rule.mode == "all_or_nothing" or not item.cases:
            share = 1.0 if item.passed else 0.0
        elif item.status in ("forbidden", "missing"):
            share = 0.0  # autograd or a disallowed argument scores 0 whatever the cases say
        else:
            share = passed / len(item.cases)
        item.score = round(rule.points * share, SCORE_DECIMALS)


def exercise_totals(items: list[ItemResult]) -> dict[str, dict[str, float]]:
    """result.json's `exercises`: each exercise's score and max_score over its items."""
    return totals_by_exercise((item.exercise, item.score, item.max_score) for item in items)


def totals_by_exercise(
    parts: Iterable[tuple[str, float, float]],
) -> dict[str, dict[str, float]]:
    """The sums of (exercise, score, max_score) triples by exercise, in first-seen order, each
    step rounded to an item score's 4 decimals. The one sum of an exercise's points: result.json
    holds it, and the class summary and grades.csv make it from the items of a result without
    it (a grader failure's, as versions before December 2026 wrote it); two copies of the sum
    could part, and the gradebook with them."""
    totals: dict[str, dict[str, float]] = {}
    for exercise, score, max_score in parts:
        t = totals.setdefault(exercise, {"score": 0.0, "max_score": 0.0})
        t["score"] = round(t["score"] + score, SCORE_DECIMALS)
        t["max_score"] = round(t["max_score"] + max_score, SCORE_DECIMALS)
    return totals


def shown_points(x: float) -> str:
    """A score as a person reads it: 98.57 for result.json's 98.5714, 17.5, 48, never with an
    exponent or float noise. Rounded to SHOWN_DECIMALS, half up, except that it is never
    rounded up to a whole number it has not reached: 99.996 of 100 reads 99.99, not 100 / 100
    beside an item that failed; and a score that would read 0 but is not shows result.json's
    decimals (0.004), not a 0 beside items that passed. The Gradescope page showed
    61.8571 / 100 where report.html showed 61.86, each with its own rounding."""
    exact = decimal.Decimal(repr(float(x)))  # 48.57, not the binary 48.56999...
    step = decimal.Decimal(1).scaleb(-SHOWN_DECIMALS)
    shown = exact.quantize(step, rounding=decimal.ROUND_HALF_UP)
    if shown != exact and shown == shown.to_integral_value() and abs(shown) > abs(exact):
        shown = exact.quantize(step, rounding=decimal.ROUND_DOWN)
    if exact and not shown:
        shown = exact.quantize(decimal.Decimal(1).scaleb(-SCORE_DECIMALS), decimal.ROUND_DOWN)
    text = f"{shown:f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text in ("", "-0") else text
