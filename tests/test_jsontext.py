"""grader/jsontext.py writes exactly what json.dumps(indent=...) writes (every result.json the
suite makes is compared too: see conftest.results_follow_the_schema)."""

from __future__ import annotations

import collections
import enum
import json
import math
import random

import pytest

from grader.jsontext import dumps

ODD_TEXT = [
    "",
    "plain",
    'quote " and \\ backslash',
    "tab\tnew\nline\r",
    "\x00\x1f\x7f",
    "zoë",
    "日本",
    "😀 \ud800",
]
ODD_NUMBERS = [
    0,
    -1,
    2**70,
    -(2**70),
    0.0,
    -0.0,
    1e-300,
    1.5e300,
    0.1,
    1 / 3,
    math.inf,
    -math.inf,
    math.nan,
]


def same(obj, indent: int = 1) -> None:
    for ascii_only in (False, True):
        assert dumps(obj, indent, ascii_only) == json.dumps(
            obj, indent=indent, ensure_ascii=ascii_only
        )


def test_every_kind_of_value_and_its_edge_cases():
    same(
        {
            "texts": ODD_TEXT,
            "numbers": ODD_NUMBERS,
            "flags": [True, False, None],
            "empty": [[], {}, (), [[]], {"a": {}}],
            "tuple": (1, "two", (3.0,)),
            **{t or "empty key": t for t in ODD_TEXT},
        }
    )


@pytest.mark.parametrize("top", [None, True, 3, 2.5, math.nan, "text", [], {}, (), [1, [2, [3]]]])
def test_any_value_at_the_top(top):
    same(top)


@pytest.mark.parametrize("indent", [0, 1, 2, 4])
def test_random_nested_structures(indent):
    rng = random.Random(indent)

    def build(depth: int):
        pick = rng.random()
        if depth > 4 or pick < 0.4:
            return rng.choice([*ODD_TEXT, *ODD_NUMBERS, True, False, None])
        if pick < 0.7:
            return [build(depth + 1) for _ in range(rng.randrange(4))]
        return {rng.choice(ODD_TEXT) + str(k): build(depth + 1) for k in range(rng.randrange(4))}

    for _ in range(200):
        same(build(0), indent)


class Level(enum.IntEnum):
    HIGH = 3


class Name(str):
    pass


@pytest.mark.parametrize(
    "odd",
    [
        {7: "int key", 2.5: "float key", True: "bool key", None: "none key"},
        collections.OrderedDict(a=1),
        [Level.HIGH, Name("x")],
        {"subclass": Name("y")},
    ],
)
def test_keys_and_subclasses_json_turns_into_something_are_left_to_it(odd):
    same(odd)


def test_what_json_refuses_is_refused_the_same_way():
    loop: list = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        dumps(loop)
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"a": object()})
