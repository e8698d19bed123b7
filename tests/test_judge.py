"""The judge: closeness against autograd's float64 truth, shapes, dtypes, and odd return values.

The last section measures the tolerance's margins on every case: every correct formulation of
tests/variants.py must land at least ten times inside the float32 tolerance, and every classic
mistake at least ten times outside it (the numbers are quoted in grader/judge.py).
"""

from __future__ import annotations

import functools
import itertools
import json
import random
import re
import subprocess
import sys

import pytest
import torch
from variants import ALTERNATIVES, MISTAKES, NARROW_MISTAKES, SOLUTIONS, Variant, call, load

from grader import judge as judge_module
from grader.backprop_ninja import spec
from grader.backprop_ninja.cases import build_case, cases
from grader.backprop_ninja.model import Config
from grader.judge import (
    TOLERANCE,
    _fmt,
    diff_map,
    judge,
    largest_magnitude,
    not_finite,
    shape_message,
)
from grader.sandbox.client import NotATensor

TOL32 = TOLERANCE[torch.float32]
MARGIN = 10.0
# tests/variants.py NARROW_MISTAKES: an epsilon dropped below dbnvar, seen through the quiet unit
# alone, is 30x the tolerance at least (it was 3.9x to 8x at n = 5 while the quiet unit's factor
# was fixed: model.quieten).
NARROW_MARGIN = 10.0


def value(t: torch.Tensor) -> tuple[torch.Tensor, str]:
    """A tensor as the sandbox client decodes it: the tensor and its dtype's name."""
    return t, str(t.dtype).removeprefix("torch.")


@pytest.fixture
def truth() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 4, generator=g, dtype=torch.float64)


def shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


def judged(answer, truth, **kw):
    return judge(answer, truth, input_dtype=kw.pop("input_dtype", torch.float32), **kw)


# Closeness


def test_a_correct_float32_answer_passes_silently(truth):
    v = judged(value(truth.float()), truth)
    assert v.passed and v.message == "" and v.warnings == []
    assert v.max_rel_err < 1e-7 and v.diff_map is None


def test_the_error_is_relative_to_the_largest_true_value(truth):
    wrong = truth.clone()
    wrong[0, 0] += 0.5 * truth.abs().max()
    v = judged(value(wrong.float()), truth)
    assert not v.passed
    assert v.max_rel_err == pytest.approx(0.5, rel=1e-6)
    assert v.max_abs_err == pytest.approx(0.5 * float(truth.abs().max()), rel=1e-6)


@pytest.mark.parametrize(("ratio", "passes"), [(0.5, True), (2.0, False)])
def test_the_float32_tolerance_is_the_boundary(truth, ratio, passes):
    answer = truth + ratio * TOL32 * truth.abs().max()
    assert judged(value(answer), truth, input_dtype=torch.float32).passed is passes


def test_a_failure_says_how_far_off_in_the_students_terms(truth):
    v = judged(value((truth * 1.01).float()), truth)
    assert not v.passed
    assert "differ from autograd's" in v.message and f"{TOL32:g}" in v.message
    assert v.diff_map and len(v.diff_map) == 6 and len(v.diff_map[0]) == 4


def test_the_diff_map_is_small_for_large_gradients():
    big = torch.ones(1000, 300, dtype=torch.float64)
    v = judged(value(torch.zeros(1000, 300) + 2), big)
    assert len(v.diff_map) <= 32 and all(len(row) <= 32 for row in v.diff_map)


def test_each_cell_of_the_diff_map_is_its_blocks_largest_error_as_a_plain_number():
    rel = torch.zeros(64, 2, dtype=torch.float64)
    rel[5, 1], rel[40, 0] = 0.1234567891, 3.0  # rows 0-1 pool into cell 0, 2-3 into cell 1...
    grid = diff_map(rel)
    assert len(grid) == 32 and all(len(row) == 2 for row in grid)
    assert grid[2] == [0.0, 0.123457] and grid[20] == [3.0, 0.0]
    assert sum(map(sum, grid)) == pytest.approx(3.123457)
    assert all(type(v) is float for row in grid for v in row)  # JSON's, not tensors


# Mathematically zero gradients (dlogit_maxes, db1) are judged on the scale of what they sum.


def test_exact_zeros_pass_for_a_zero_gradient():
    noise = torch.full((5, 1), 1e-18, dtype=torch.float64)
    assert judged(value(torch.zeros(5, 1)), noise, scale_floor=0.03).passed


def test_float_noise_passes_for_a_zero_gradient():
    noise = torch.full((5, 1), 1e-18, dtype=torch.float64)
    assert judged(value(torch.full((5, 1), 3e-9)), noise, scale_floor=0.03).passed


def test_a_real_value_fails_for_a_zero_gradient():
    noise = torch.full((5, 1), 1e-18, dtype=torch.float64)
    v = judged(value(torch.full((5, 1), 0.01)), noise, scale_floor=0.03)
    assert not v.passed


def test_without_a_scale_floor_noise_would_fail():
    """Why the floor exists: relative to its own float noise, any float32 answer is wrong."""
    noise = torch.full((5, 1), 1e-18, dtype=torch.float64)
    assert not judged(value(torch.full((5, 1), 3e-9)), noise).passed


# Shapes


def test_a_shape_that_differs_only_by_size_one_dimensions_passes_with_a_warning():
    truth = torch.randn(1, 64, dtype=torch.float64)
    v = judged(value(truth.reshape(64).float()), truth, name="dbnmeani")
    assert v.passed
    assert v.warnings == [
        "shape (64,) differs from dbnmeani's (1, 64) only by size-1 dimensions; accepted"
    ]


def test_a_transposed_matrix_is_named():
    truth = torch.randn(64, 27, dtype=torch.float64)
    v = judged(value(truth.T.float()), truth)
    assert not v.passed
    assert "returned (27, 64), expected (64, 27)" in v.message and "transposed" in v.message


@pytest.mark.parametrize(
    ("got", "want"), [((32, 27), (27,)), ((32, 64), (1, 64)), ((32, 27), (32, 1))]
)
def test_a_missing_sum_over_a_broadcast_dimension_is_named(got, want):
    v = judged(value(torch.ones(got)), torch.ones(want, dtype=torch.float64))
    assert not v.passed
    assert f"returned {shape_text(got)}, expected {shape_text(want)}" in v.message
    assert "did you sum over the broadcast dimension?" in v.message


@pytest.mark.parametrize(
    ("got", "want", "words"),
    [
        ((32, 1), (1, 64), "summed over dim 1 where this gradient sums over dim 0?"),
        ((1, 27), (32, 1), "summed over dim 0 where this gradient sums over dim 1?"),
    ],
)
def test_a_sum_over_the_wrong_dimension_is_named_with_the_right_one(got, want, words):
    """`dhpreact.sum(1, keepdim=True)` for dbnbias was told both shapes and nothing else, where
    a transpose or a missing sum is named."""
    v = judged(value(torch.ones(got)), torch.ones(want, dtype=torch.float64))
    assert not v.passed
    assert v.message == (
        f"wrong shape: returned {shape_text(got)}, expected {shape_text(want)} ({words})"
    )


ROWS_FOR_COLUMNS = "summed over dim 1 where this gradient sums over dim 0?"


def test_db2_summed_over_the_wrong_dimension_is_named_from_the_call_s_dlogits():
    """`db2 = dlogits.sum(1)` at the lecture's sizes returns (32,) for (27,): no size-1
    dimension tells the sums apart, and it was told both shapes and nothing else. The call's
    argument dlogits, (32, 27), holds both: each is what a sum over its other dimension leaves."""
    case = cases(public_only=True)[0]
    dlogits = case.atomic_inputs["dlogits"]
    assert tuple(dlogits.shape) == (32, 27)
    v = judge(
        value(dlogits.sum(1)),
        case.atomic_grads["db2"],
        input_dtype=case.dtype,
        name="db2",
        arguments=(dlogits, case.n),
    )
    assert v.message == f"wrong shape: returned (32,), expected (27,) ({ROWS_FOR_COLUMNS})"


@pytest.mark.parametrize(
    ("got", "want", "arguments", "words"),
    [
        # batchnorm's dbeta on 3-D input summed over its channels: two dimensions kept for one
        ((32, 4), (68,), [(32, 4, 68)],
         "summed over dim 2 where this gradient sums over dims 0 and 1?"),
        # the kept dimension without keepdim, the expected one with it
        ((32,), (1, 64), [(32, 64), (64, 27)], ROWS_FOR_COLUMNS),
        ((27,), (32, 1), [(32, 27)], "summed over dim 0 where this gradient sums over dim 1?"),
        # several arguments holding the shapes the same way say the same
        ((32,), (27,), [(32, 27), (32, 27), (27, 10)], ROWS_FOR_COLUMNS),
    ],
)  # fmt: skip
def test_a_dimension_kept_for_another_is_named_from_the_call_s_arguments(
    got, want, arguments, words
):
    v = judged(
        value(torch.ones(got)),
        torch.ones(want, dtype=torch.float64),
        arguments=[torch.ones(a) for a in arguments],
    )
    assert v.message == (
        f"wrong shape: returned {shape_text(got)}, expected {shape_text(want)} ({words})"
    )


@pytest.mark.parametrize(
    ("got", "want", "arguments"),
    [
        ((32,), (27,), []),  # no argument to read: `n` alone
        ((32,), (27,), [(32, 64), (64, 27)]),  # none holds both
        ((32,), (27,), [(32, 27), (27, 32)]),  # two hold them the other way round
        ((4,), (5,), [(4, 4, 5)]),  # n == m: 4 is dim 0 or dim 1, the sum unknown
        ((), (27,), [(32, 27)]),  # everything summed away (`dlogits.sum()`): not a kept dimension
    ],
)
def test_the_arguments_name_no_dimension_where_they_read_more_than_one_way(got, want, arguments):
    """A hint that might name the wrong dimension is worse than none: the message is then the
    two shapes alone."""
    v = judged(
        value(torch.ones(got)),
        torch.ones(want, dtype=torch.float64),
        arguments=[3, *(torch.ones(a) for a in arguments)],
    )
    assert v.message == f"wrong shape: returned {shape_text(got)}, expected {shape_text(want)}"


def test_a_reshaped_answer_is_named_as_such():
    truth = torch.ones(32, 3, 10, dtype=torch.float64)
    v = judged(value(torch.ones(32, 30)), truth)
    assert "(32, 30)" in v.message and "(32, 3, 10)" in v.message and "reshape" in v.message


def test_any_other_wrong_shape_names_both_shapes():
    v = judged(value(torch.ones(5, 7)), torch.ones(3, 2, dtype=torch.float64))
    assert not v.passed
    assert v.message == "wrong shape: returned (5, 7), expected (3, 2)"


def _sums_that_give(argument: tuple[int, ...], got, want) -> set:
    """Brute force over every pair of sums of `argument`: (dims summed to leave `got`, dims
    summed to leave `want`), size-1 dimensions aside."""
    sized = [i for i, d in enumerate(argument) if d != 1]
    subsets = [s for k in range(1, len(sized) + 1) for s in itertools.combinations(sized, k)]
    left = {s: tuple(argument[i] for i in sized if i not in s) for s in subsets}
    g, w = squeezed(got), squeezed(want)
    return {(a, b) for a in subsets for b in subsets if left[a] == g and left[b] == w}


def squeezed(shape) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


TRIALS = 4000
NAMED_SUM = re.compile(
    r"summed over dims? ([\d, and]+) where this gradient sums over dims? ([\d, and]+)\?"
)


def test_a_named_sum_is_one_the_call_s_arguments_hold_wherever_they_hold_one():
    """Over random arguments and two different sums of one of them (with keepdim or without), and
    random shapes besides: the message never raises, and a sum it names is one of an argument
    that gives both shapes, wherever one does. The answer's size-1 dimension alone named the
    wrong one: x of (6, 1, 4), x.sum(2) for x.sum(0), was told 'summed over dim 1 where this
    gradient sums over dim 0?', a dimension of size 1 that no sum changes."""
    rng = random.Random(1)
    checked = 0
    for _ in range(TRIALS):
        argument = tuple(rng.choice((1, 1, 2, 3, 4)) for _ in range(rng.randint(1, 4)))
        others = [
            tuple(rng.choice((1, 2, 3, 5)) for _ in range(rng.randint(0, 3)))
            for _ in range(rng.randint(0, 2))
        ]
        shapes = []
        for _ in range(2):
            dims = rng.sample(range(len(argument)), rng.randint(1, len(argument)))
            shapes.append(torch.empty(argument, device="meta").sum(dims, rng.random() < 0.5).shape)
        if rng.random() < 0.2:  # any shape at all
            shapes[rng.randrange(2)] = torch.Size(
                rng.choice((0, 1, 2, 3)) for _ in range(rng.randint(0, 3))
            )
        got, want = shapes
        if squeezed(got) == squeezed(want):
            continue
        arguments = [3, *(torch.ones(a) for a in [argument, *others])]
        message = shape_message(got, want, arguments)
        assert message.startswith(f"wrong shape: returned {_fmt(got)}, expected {_fmt(want)}")
        named = NAMED_SUM.search(message)
        held = set().union(
            *(_sums_that_give(a, got, want) for a in [argument, *others] if len(a) >= 2)
        )
        if named and held:
            said = tuple(tuple(map(int, re.findall(r"\d+", g))) for g in named.groups())
            assert said in held, (argument, others, message)
            checked += 1
    assert checked >= 100  # named sums enough to hold to this (130 of the seed's draws)


# Dtypes


def test_a_float64_answer_passes_with_a_warning_and_the_inputs_tolerance(truth):
    answer = truth + 0.5 * TOL32 * truth.abs().max()
    v = judged(value(answer), truth, input_dtype=torch.float32)
    assert v.passed
    assert v.warnings == [
        "returned float64 while the inputs are float32; judged with the inputs' tolerance"
    ]
    assert not judged(value(truth + 2 * TOL32 * truth.abs().max()), truth).passed


@pytest.mark.parametrize("coarse", [torch.float16, torch.bfloat16])
def test_a_coarser_answer_is_judged_with_the_inputs_tolerance_and_says_why(truth, coarse):
    """The answer's dtype is the student's choice: it never loosens the comparison."""
    v = judged(value(truth.to(coarse)), truth)
    name = str(coarse).removeprefix("torch.")
    assert not v.passed
    assert v.max_rel_err > TOL32
    assert f"returned {name} while the inputs are float32: judged with float32's tolerance" in (
        v.message
    )
    assert "return the inputs' dtype" in v.message


def test_a_mistake_hidden_in_half_precision_rounding_still_fails(truth):
    """Bessel's n for n-1 at n = 100 is off by 1e-2; float16's old row (5e-3) let 1e-3 through."""
    off = truth * (1 + 1e-3)
    assert not judged(value(off.half()), truth).passed
    assert not judged(value(off.float()), truth).passed


def test_a_coarser_answer_that_happens_to_be_exact_passes_with_the_warning():
    exact = torch.tensor([0.5, -0.25, 1.0], dtype=torch.float64)  # representable in float16
    v = judged(value(exact.half()), exact)
    assert v.passed and "judged with float32's tolerance" in v.warnings[0]


def test_float64_inputs_are_judged_with_the_float64_tolerance(truth):
    assert judged(value(truth.clone()), truth, input_dtype=torch.float64).passed
    off = truth * (1 + 1e-7)  # fine for float32 inputs, far too coarse for float64 ones
    assert not judged(value(off), truth, input_dtype=torch.float64).passed
    assert judged(value(off), truth, input_dtype=torch.float32).passed


def test_a_float32_answer_to_float64_inputs_is_judged_as_float64(truth):
    v = judged(value(truth.float()), truth, input_dtype=torch.float64)
    assert not v.passed and "returned float32 while the inputs are float64" in v.message


def test_an_unknown_dtype_name_from_the_student_process_is_not_trusted(truth):
    """The dtype name crosses from the student's process: only known dtypes set a tolerance."""
    v = judged((truth.float() * (1 + 1e-3), "nn"), truth)
    assert not v.passed


def test_an_integer_tensor_fails_with_a_clear_message():
    v = judged(value(torch.ones(3, dtype=torch.int64)), torch.ones(3, dtype=torch.float64))
    assert not v.passed and "an int64 tensor" in v.message and "floating-point" in v.message


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2"])
def test_a_float8_tensor_is_told_to_return_the_inputs_dtype_not_a_real_floating_one(dtype):
    """float8 crosses from no student process (numpy has none): its answer was told "a
    gradient is a real floating-point tensor", which a float8 tensor is."""
    v = judged(NotATensor(f"tensor of dtype {dtype}"), torch.ones(3, dtype=torch.float64))
    assert not v.passed and "real floating-point" not in v.message
    assert "return the inputs' dtype (float32)" in v.message


@pytest.mark.parametrize(
    ("dtype", "says"),
    [(torch.uint8, "returned a uint8 tensor"), (torch.int64, "returned an int64")],
)
def test_an_integer_answer_is_named_with_its_article_by_sound(dtype, says):
    """A uint8 answer read "returned an uint8 tensor"."""
    v = judged((torch.ones(3, dtype=dtype), str(dtype).removeprefix("torch.")), torch.ones(3))
    assert not v.passed and v.message.startswith(says), v.message


def test_a_complex_tensor_is_told_a_gradient_is_real():
    v = judged(NotATensor("tensor of dtype complex64"), torch.ones(3, dtype=torch.float64))
    assert not v.passed and "real floating-point" in v.message


# Values that are not a tensor, or not a number


@pytest.mark.parametrize(
    ("returned", "says"),
    [
        (None, "returned None: did you forget `return`?"),
        (NotATensor("float"), "returned a float, not a torch.Tensor"),
        (NotATensor("ndarray"), "returned a numpy array, not a torch.Tensor"),
        (NotATensor("tensor of dtype complex64"), "returned a complex64 tensor"),
        (NotATensor("tensor of dtype float8_e4m3fn"), "returned a float8_e4m3fn tensor"),
        (NotATensor("tensor of dtype int8"), "returned an int8 tensor"),
        ([1, 2], "returned a list or tuple, not a torch.Tensor"),
        ({"a": 1}, "returned a dict, not a torch.Tensor"),
        ("text", "returned a str, not a torch.Tensor"),
        ((1, 2, 3), "returned a tuple, not a torch.Tensor"),
    ],
)
def test_a_value_that_is_not_a_tensor_fails_with_a_clear_message(returned, says, truth):
    v = judged(returned, truth)
    assert not v.passed and v.message.startswith(says)


def test_an_answer_beyond_the_runs_dtype_is_not_called_nan_or_inf():
    """A training run casts each gradient to its parameter's float32: a float64 1e300 is
    finite, and was reported as "contains NaN or Inf"."""
    huge = torch.tensor([1.0, -1e300], dtype=torch.float64)
    assert not_finite(huge, torch.float32) == "has values beyond float32's range (up to 1e+300)"
    assert not_finite(torch.tensor([1.0, float("nan")]), torch.float32) == "contains NaN or Inf"


@pytest.mark.parametrize(
    ("bad", "word"), [(float("nan"), "NaN"), (float("inf"), "Inf"), (float("-inf"), "Inf")]
)
def test_nan_or_inf_fails_with_a_clear_message(bad, word, truth):
    answer = truth.float().clone()
    answer[2, 1] = bad
    v = judged(value(answer), truth)
    assert not v.passed and f"contains {word} values" in v.message


def test_a_truths_scale_is_kept_only_while_the_truth_lives():
    """Taken once per truth and process; a batch's memory stays flat, and a tensor that takes
    a dead truth's place is measured afresh."""
    before = len(judge_module._MAGNITUDES)  # truths other tests keep alive keep theirs
    for k in range(50):
        truth = torch.full((3, 4), float(k), dtype=torch.float64)
        assert largest_magnitude(truth) == k
        assert largest_magnitude(truth) == k
        del truth
    assert len(judge_module._MAGNITUDES) <= before
    assert largest_magnitude(torch.zeros(0, 4, dtype=torch.float64)) == 0.0


def test_a_truth_changed_in_place_is_measured_again(truth):
    """The kept scale follows the truth: judged after an in-place change, the answer that
    matches the new truth passes and the one that matched the old truth fails."""
    truth = truth.clone()
    old = truth.clone()
    assert judged(value(old.float()), truth).passed
    truth.mul_(1000.0)
    assert largest_magnitude(truth) == float(truth.abs().max())
    assert judged(value(truth.float()), truth).passed
    assert not judged(value(old.float()), truth).passed


def test_a_huge_answer_gives_finite_errors_that_json_can_hold(truth):
    """result.json is read by strict JSON parsers too, which have no Infinity: an answer of
    1e308 fails with the largest float as its error, and a diff map of finite numbers."""
    v = judged(value(torch.full(truth.shape, 1e308, dtype=torch.float64)), truth)
    assert not v.passed
    record = {"abs": v.max_abs_err, "rel": v.max_rel_err, "map": v.diff_map}
    json.loads(json.dumps(record, allow_nan=False))
    assert v.max_rel_err > 1e300


# The tolerance's margins, measured on every public and hidden case


def _grads_of(variant_or_file: Variant | str) -> dict[str, str]:
    """Which functions a source defines to judge: exercise 3's backward returns them all."""
    file = variant_or_file if isinstance(variant_or_file, str) else variant_or_file.file
    if file == "exercise3":
        return {g: "backward" for g in spec.EXERCISE3_GRADS}
    if isinstance(variant_or_file, str):
        names = spec.EXERCISE1 if file == "exercise1" else spec.EXERCISE2
    else:
        names = [i.split(".", 1)[1] for i in variant_or_file.items]
    return {g: g for g in names}


def relative_errors(source: str, file: str, grads: dict[str, str], all_cases) -> dict:
    """(grad, case id) -> the judged relative error, or the failure message (e.g. a shape)."""
    module = load(source, file)
    errors = {}
    for case in all_cases:
        compact = file == "exercise3"
        inputs = case.compact_inputs if compact else case.atomic_inputs
        truths = case.compact_grads if compact else case.atomic_grads
        results = {}
        for grad, func in grads.items():
            if func not in results:
                results[func] = call(getattr(module, func), inputs)
            out = results[func]
            if compact:
                out = out[grad] if isinstance(out, dict) else out[spec.EXERCISE3_GRADS.index(grad)]
            v = judge(
                value(out),
                truths[grad],
                input_dtype=case.dtype,
                scale_floor=case.scale_floor(grad, truths),
            )
            errors[(grad, case.id)] = v.max_rel_err if v.max_rel_err is not None else v.message
    return errors


@functools.cache
def correct_errors() -> dict:
    errors = {}
    for file in ("exercise1", "exercise2", "exercise3"):
        source = (SOLUTIONS / f"{file}.py").read_text()
        for key, err in relative_errors(source, file, _grads_of(file), cases()).items():
            errors[("solution", *key)] = err
    for name, variant in ALTERNATIVES.items():
        found = relative_errors(variant.source(), variant.file, _grads_of(variant), cases())
        errors.update({(name, *key): err for key, err in found.items()})
    return errors


def test_every_correct_formulation_is_at_least_ten_times_inside_the_tolerance():
    errors = correct_errors()
    assert all(isinstance(e, float) for e in errors.values()), "a correct answer failed on shape"
    worst = max(errors, key=errors.get)
    assert errors[worst] * MARGIN <= TOL32, f"worst correct answer: {worst} at {errors[worst]:.2g}"
    # Not vacuous: float32 answers do carry rounding error (about 1e-7 of the scale).
    assert errors[worst] > 1e-8


@pytest.mark.parametrize("name", MISTAKES)
def test_every_classic_mistake_is_at_least_ten_times_outside_the_tolerance(name):
    """On every case, each gradient a mistake reaches is wrong in shape or far off."""
    _assert_outside(MISTAKES[name], MARGIN)


@pytest.mark.parametrize("name", NARROW_MISTAKES)
def test_a_dropped_epsilon_below_dbnvar_fails_every_case(name):
    """Through the quiet unit only: nearer than the classic mistakes, still well outside."""
    _assert_outside(NARROW_MISTAKES[name], NARROW_MARGIN)


def test_a_dropped_epsilon_in_exercise_3_fails_dC_on_every_case_too():
    """dC sees the quiet unit through its small column of W1: it passed the case at n = 5
    (0.6x the tolerance), a share of dC's credit for a wrong backward."""
    variant = NARROW_MISTAKES["missing_epsilon_exercise3"]
    errors = relative_errors(variant.source(), variant.file, {"dC": "backward"}, cases())
    assert len(errors) == len(cases())
    assert all(err > TOL32 for err in errors.values()), errors


def _assert_outside(variant: Variant, margin: float) -> None:
    grads = {g: f for g, f in _grads_of(variant).items() if f"{variant.file}.{g}" in variant.items}
    errors = relative_errors(variant.source(), variant.file, grads, cases())
    assert len(errors) == len(grads) * len(cases())
    for where, err in errors.items():
        if isinstance(err, str):
            assert err.startswith("wrong shape"), (where, err)
        else:
            assert err >= margin * TOL32, (where, err)


def test_bessel_at_n_100_is_caught_with_margin_in_the_chain_and_in_the_fused_formula():
    """The smallest classic mistake: n for n-1 at the hidden case with n = 100."""
    (big,) = [c for c in cases() if c.n == 100]
    chain = relative_errors(
        MISTAKES["bessel"].source(), "exercise1", {"dbndiff2": "dbndiff2"}, [big]
    )
    fused = relative_errors(
        MISTAKES["bessel_fused"].source(), "exercise2", {"dhprebn": "dhprebn"}, [big]
    )
    assert chain[("dbndiff2", big.id)] == pytest.approx(1 / 100, rel=1e-3)
    assert fused[("dhprebn", big.id)] >= MARGIN * TOL32


def test_float64_cases_leave_the_same_margins():
    """A course may add float64 cases: correct answers then sit far inside 1e-9."""
    case = build_case(Config(n=100, dtype="float64", seed=11), public=False)
    tol = TOLERANCE[torch.float64]
    for file in ("exercise1", "exercise2", "exercise3"):
        source = (SOLUTIONS / f"{file}.py").read_text()
        errors = relative_errors(source, file, _grads_of(file), [case])
        assert max(errors.values()) * MARGIN <= tol, file
    fused = relative_errors(
        MISTAKES["bessel_fused"].source(), "exercise2", {"dhprebn": "dhprebn"}, [case]
    )
    assert min(fused.values()) >= MARGIN * tol


def test_the_broadcast_hint_follows_torchs_broadcasting_rule():
    """`_broadcast_into` is written out (torch.broadcast_shapes imports torch._refs on first use,
    ~0.4 s); over a grid of shapes it agrees with torch's own rule."""
    from itertools import product

    from grader.judge import _broadcast_into

    dims = (0, 1, 2, 32)
    shapes = [(), *((d,) for d in dims), *product(dims, dims), *product((1, 2), (1, 32), (1, 3))]
    for small, big in product(shapes, shapes):
        small, big = torch.Size(small), torch.Size(big)
        try:
            fits = tuple(torch.broadcast_shapes(small, big)) == tuple(big)
        except RuntimeError:
            fits = False
        assert _broadcast_into(small, big) == (fits and small.numel() < big.numel()), (small, big)


def test_a_dtype_name_from_the_student_imports_nothing_into_the_grader() -> None:
    """The dtype name a student process reports is looked up among torch's dtypes; a lookup by
    getattr let a name such as `_dynamo` import that lazy submodule (seconds of work and its
    memory) into the grader, by student code's choice."""
    code = (
        "import sys, torch\n"
        "from grader.judge import judge\n"
        "from grader.sandbox.client import NotATensor\n"
        "assert 'torch._dynamo' not in sys.modules, 'imported before the judging'\n"
        "v = judge(NotATensor('tensor of dtype _dynamo'), torch.ones(3),\n"
        "          input_dtype=torch.float32)\n"
        "assert not v.passed and 'real floating-point' in v.message, v.message\n"
        "assert 'torch._dynamo' not in sys.modules, 'imported by the judging'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
