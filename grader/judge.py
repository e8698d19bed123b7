"""Judging one returned value against autograd's float64 truth: closeness, shape, dtype, finiteness.

The rule (SPEC "How it is judged"): an answer passes when its largest absolute error, divided by
the gradient's scale (its largest true magnitude, or a related gradient's for the ones that are
mathematically zero), is at most the tolerance of the inputs' dtype. The answer's dtype is the
student's choice and never loosens that: a float16 answer to float32 inputs is judged as float32
(and fails wherever its rounding costs more than float32's tolerance, with a message saying so);
a finer answer (float64) passes with a warning.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

# Why these tolerances (measured by tests/test_judge.py over the public and hidden cases, with
# torch 2.13 on CPU; the tests fail if either margin drops below 10x):
# - float32 inputs: the worst correct formulation (the solutions and every alternative of
#   tests/variants.py: loops, index_add_, one-hot matmuls, expand_as, clone + +=, float64
#   results) is off by 7.8e-7 of the scale (dcounts_sum at the cases' largest batch); the
#   smallest classic mistake is the fused batchnorm backward with n for n-1 (exercise 2's
#   dhprebn) at that batch, off by 6.8e-4 there (3e-4 to 1.3e-3 over seeds and widths), while
#   Bessel in exercise 1's dbndiff2 there is off by 1e-2. 2e-5 sits about 25x above the first
#   and 30x below the second; the old 1e-4 let the fused Bessel mistake pass within a factor of
#   3 on some seeds.
# - float64 inputs: correct answers are off by about 1e-15; 1e-9 leaves room for any ordering of
#   the sums and is still five orders of magnitude below every mistake.
# - float16 / bfloat16 inputs (no case uses them today; the table is keyed by the inputs' dtype):
#   rounding alone costs up to 2^-11 = 4.9e-4 / 2^-8 = 3.9e-3 of the scale; the tolerance is
#   about ten times that. An answer's own dtype never picks the row: rounding a float32 gradient
#   to float16 costs up to 4.9e-4 of its scale, 25x float32's tolerance, so a half-precision
#   answer to float32 inputs fails (its looser row once let Bessel's mistake pass).
TOLERANCE = {
    torch.float64: 1e-9,
    torch.float32: 2e-5,
    torch.float16: 5e-3,
    torch.bfloat16: 3e-2,
}
_DTYPES = {str(d).removeprefix("torch."): d for d in TOLERANCE}

# A coarser answer off by at most this many of its own dtype's epsilons (of the scale) is
# explained by its rounding alone: rounding float32 values to float16 costs up to one epsilon
# (9.8e-4), a formula computed in float16 a few more. Bessel's n at n = 32 (3%) stays above.
ROUNDING_EPS = 8
# Its hint: the numbers-read rules once named the rounding's pattern as a mistake (a float16 dC
# was "wrong only in the rows of characters that occur more than once", a float16 dlogprobs
# right at the lecture's sizes was "a hard-coded size", a constant factor of about 1.000366).
# It says what the numbers show and no more: rounding of that size also hides any mistake
# smaller than it, so it never says the formula is right. It once said "not a mistake in the
# formula" to the fused batchnorm with Bessel's n, or without the epsilon, returned as float16
# or bfloat16 (8e-4 to 5e-3 of the scale, within the dtype's 8 epsilons), on most cases.
ROUNDED_HINT = (
    "your answer's own rounding to a coarser dtype costs more than the tolerance allows, and "
    "would hide a mistake smaller than it too: return the inputs' dtype to see whether "
    "anything else differs"
)

# A heatmap of where a failed answer differs, at most this many cells a side.
DIFF_MAP_SIDE = 32
_LARGEST = 1.7976931348623157e308  # the largest float: what an error beyond it is written as


@dataclass
class Verdict:
    """The judgement of one answer: pass or fail, why, and the numbers behind it."""

    passed: bool
    message: str = ""
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    shape: list[int] | None = None
    dtype: str | None = None
    warnings: list[str] = field(default_factory=list)
    # The answer as compared (float64, the truth's shape), for hints; None when not comparable.
    answer: torch.Tensor | None = None
    diff_map: list[list[float]] | None = None
    # Failed only by the rounding of a coarser dtype than the inputs' (ROUNDING_EPS).
    rounded: bool = False


def judge(
    value: object,
    truth: torch.Tensor,
    *,
    input_dtype: torch.dtype,
    scale_floor: float = 0.0,
    name: str = "the gradient",
    arguments: Iterable[object] = (),
) -> Verdict:
    """Compare a decoded student value with the truth; never raises on any student value.
    `arguments`: the values the call was given (the grader's own), read only for a wrong shape."""
    problem = _not_a_tensor(value, input_dtype)
    if problem:
        return Verdict(False, problem)
    t, dtype_name = value
    shape = list(t.shape)
    if not t.is_floating_point():
        return Verdict(
            False,
            f"returned {_a(dtype_name)} tensor; a gradient is a floating-point "
            f"tensor like its inputs ({_name(input_dtype)})",
            shape=shape,
            dtype=dtype_name,
        )
    warnings: list[str] = []
    # The name comes from the student's process: only a known floating dtype counts.
    answer_dtype = _DTYPES.get(dtype_name, t.dtype)
    tol = TOLERANCE.get(input_dtype, 2e-5)
    coarser = _coarser(answer_dtype, input_dtype)
    if answer_dtype != input_dtype and not coarser:
        warnings.append(
            f"returned {dtype_name} while the inputs are {_name(input_dtype)}; "
            f"judged with the inputs' tolerance"
        )
    if list(t.shape) != list(truth.shape):
        if _squeezed(t.shape) == _squeezed(truth.shape):
            warnings.append(
                f"shape {_fmt(t.shape)} differs from {name}'s {_fmt(truth.shape)} "
                f"only by size-1 dimensions; accepted"
            )
            t = t.reshape(truth.shape)
        else:
            return Verdict(
                False,
                shape_message(t.shape, truth.shape, arguments),
                shape=shape,
                dtype=dtype_name,
                warnings=warnings,
            )
    answer = t.double()
    err = (answer - truth).abs()
    max_abs = float(err.max()) if err.numel() else 0.0
    # NaN and Inf in the answer (the truth has none) are what make the largest error other
    # than finite: the usual answer is judged without a separate pass over it to find them.
    if max_abs - max_abs != 0.0:
        bad = "NaN" if torch.isnan(t).any() else "Inf"
        return Verdict(
            False,
            f"contains {bad} values (a division by zero, or the log or power of a zero?)",
            shape=shape,
            dtype=dtype_name,
            warnings=warnings,
        )
    scale = max(largest_magnitude(truth), scale_floor, 1e-30)
    rel = min(max_abs / scale, _LARGEST)  # JSON has no Infinity: a huge error stays a number
    passed = rel <= tol
    message = (
        ""
        if passed
        else f"values differ from autograd's by up to {max_abs:.3g}, which is {rel:.2g} of the "
        f"gradient's scale {scale:.3g} (allowed: {tol:g} of it)"
    )
    rounded = coarser and not passed and _rounding_alone(answer, truth, rel, answer_dtype)
    if coarser:
        why = (
            f"returned {dtype_name} while the inputs are {_name(input_dtype)}: judged with "
            f"{_name(input_dtype)}'s tolerance ({tol:g}), which rounding to {dtype_name} alone "
            f"can exceed; return the inputs' dtype"
        )
        if passed:
            warnings.append(why)
        else:
            message = f"{message}; {why}"
    return Verdict(
        passed,
        message,
        max_abs,
        rel,
        shape,
        dtype_name,
        warnings,
        answer,
        None if passed else diff_map(err / scale),
        rounded,
    )


def _rounding_alone(
    answer: torch.Tensor, truth: torch.Tensor, rel: float, dtype: torch.dtype
) -> bool:
    """Whether a coarser answer's error (`rel` of the scale) is its rounding's: within
    ROUNDING_EPS of its dtype's epsilon, and not the answer scaled by a factor further from 1
    than one epsilon, which rounding never makes (a bfloat16 dbndiff2 off by Bessel's (n-1)/n,
    3% at n = 32, was told "not a mistake in the formula"). Rounding a gradient whose values
    are all alike (-1/n) makes a factor too, but within an epsilon."""
    eps = torch.finfo(dtype).eps
    if rel > ROUNDING_EPS * eps:
        return False
    tt = float((truth * truth).sum())
    return tt == 0.0 or abs(float((answer * truth).sum()) / tt - 1) <= eps


# A truth is judged against once per student: its largest magnitude is taken once per process.
# Keyed by id (a tensor's == is elementwise, which a WeakKeyDictionary would call), with a weak
# reference that drops the entry when its tensor goes, before anything else can take its id,
# and the tensor's version counter, which any change in place moves on: a stale scale would
# judge every later student against the wrong tolerance.
_MAGNITUDES: dict[int, tuple[weakref.ref, int, float]] = {}


def largest_magnitude(truth: torch.Tensor) -> float:
    """max |truth| (0 for an empty one), measured again whenever the truth has changed."""
    key = id(truth)
    known = _MAGNITUDES.get(key)
    if known is not None and known[0]() is truth and known[1] == truth._version:
        return known[2]
    found = float(truth.abs().max()) if truth.numel() else 0.0
    ref = weakref.ref(truth, lambda _, key=key: _MAGNITUDES.pop(key, None))
    _MAGNITUDES[key] = (ref, truth._version, found)
    return found


def _not_a_tensor(value: object, input_dtype: torch.dtype) -> str:
    """Why a decoded value is no tensor to judge, or "" when it is one ((tensor, dtype name))."""
    if value is None:
        return "returned None: did you forget `return`?"
    # The sandbox's NotATensor (or the public check's twin): only its type name crossed.
    kind = getattr(value, "type_name", None)
    if isinstance(kind, str):
        if kind.startswith("tensor whose values cannot be read"):
            return f"returned a {kind}; return an ordinary tensor (not a meta or nested one)"
        if kind.startswith("tensor of dtype"):
            dtype = kind.removeprefix("tensor of dtype ")
            if _floating(dtype):
                return (
                    f"returned a {dtype} tensor, a floating-point dtype the grader does not "
                    f"read (too coarse for a gradient); return the inputs' dtype "
                    f"({_name(input_dtype)})"
                )
            return f"returned {_a(dtype)} tensor; a gradient is a real floating-point tensor"
        return f"returned {_a(kind)}, not a torch.Tensor"
    # Anything else but (tensor, dtype name) is a container the student returned, decoded.
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], torch.Tensor)):
        return f"returned {_a(container_name(value))}, not a torch.Tensor"
    return ""


def container_name(value: object) -> str:
    """The decoded value's type name as the student would say it. A tuple travels as a list
    (on the grader's side a tuple is a bare tensor, (tensor, dtype name)): `return dW, db`
    was reported as "a list", which the student never wrote."""
    name = type(value).__name__
    return "list or tuple" if name == "list" else name


def _a(noun: str) -> str:
    """`noun` with its article, by sound: an int64, a uint8 (said "you-int")."""
    noun = {"ndarray": "numpy array"}.get(noun, noun)
    vowel = noun[:1].lower() in "aeiou" and not noun.lower().startswith(("uint", "uni", "use"))
    return ("an " if vowel else "a ") + noun


def shape_message(got: torch.Size, want: torch.Size, arguments: Iterable[object] = ()) -> str:
    """Name both shapes, and the likely reason where the shapes show it (`arguments`: the
    values the call was given, whose shapes may show which dimension a sum kept)."""
    msg = f"wrong shape: returned {_fmt(got)}, expected {_fmt(want)}"
    if len(got) == 2 and tuple(got) == tuple(want)[::-1]:
        return msg + " (transposed? check the order of the matrix product)"
    if _broadcast_into(want, got):
        return msg + " (did you sum over the broadcast dimension?)"
    sums = _wrong_sum(got, want, arguments)
    if sums is not None:
        return (
            msg + f" (summed over {_dims(sums[0])} where this gradient sums over {_dims(sums[1])}?)"
        )
    if torch.Size(got).numel() == torch.Size(want).numel():
        return msg + " (same number of elements: a view or reshape of the right values?)"
    return msg


def _wrong_sum(
    got: torch.Size, want: torch.Size, arguments: Iterable[object]
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(the dimensions the answer summed over, those this gradient sums over), or None: as the
    call's arguments read them where they read one way, else as the two shapes' own size-1
    dimensions do where no argument reads otherwise."""
    readings = _other_dimensions(got, want, arguments)
    if len(readings) == 1:
        return next(iter(readings))
    summed, wanted = _kept_dimension(got), _kept_dimension(want)
    if summed is None or wanted is None or summed == wanted:
        return None
    guess = ((summed,), (wanted,))
    return guess if not readings or guess in readings else None


def _kept_dimension(shape: torch.Size) -> int | None:
    """The dimension a 2-D `sum(dim, keepdim=True)` ran over: its one dimension of size 1, or
    None. A gradient of shape (1, h) that came back (n, 1) was summed over the other dimension
    (`.sum(1, keepdim=True)` for `.sum(0, keepdim=True)`), a slip the shapes alone show where no
    argument of the call holds them (one that does tells the sum better: x of (6, 1, 4) summed
    over dim 2 for dim 0 gives (6, 1) for (1, 4), which the size-1 dimension read as dim 1)."""
    if len(shape) != 2 or (shape[0] == 1) == (shape[1] == 1):
        return None
    return 0 if shape[0] == 1 else 1


def _other_dimensions(
    got: torch.Size, want: torch.Size, arguments: Iterable[object]
) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Each (dimensions the answer summed over, those this gradient sums over) the call's
    arguments read: none where no argument holds both shapes, and the reading stops at a
    second. `db2 = dlogits.sum(1)` returns (n,) where (vocab_size,) is expected, with no size-1
    dimension to tell it by: both are what is left of dlogits's (n, vocab_size), each with the
    other dimension summed away. Said only when the arguments read one way: an argument that
    holds both shapes in two ways (a square one), or two that hold them differently, leave the
    sum unknown, and the message names none."""
    kept_got, kept_want = _squeezed(got), _squeezed(want)
    readings: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    if not kept_got or not kept_want:
        return readings  # everything summed away is another slip than a dimension kept
    for value in arguments:
        if isinstance(value, torch.Tensor) and len(value.shape) >= 2:
            readings |= _sums_between(tuple(value.shape), kept_got, kept_want)
            if len(readings) > 1:
                break
    return readings


def _sums_between(
    shape: tuple[int, ...], got: tuple[int, ...], want: tuple[int, ...]
) -> set[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every way `shape` summed over some of its dimensions gives `got`, and over others
    `want`: (dimensions summed for got, for want). Size-1 dimensions are neither kept nor
    summed (a sum over one changes nothing)."""
    sized = [i for i, d in enumerate(shape) if d != 1]
    ways = set()
    for kept_got in _kept_ways(shape, sized, got):
        for kept_want in _kept_ways(shape, sized, want):
            summed_got = tuple(i for i in sized if i not in kept_got)
            summed_want = tuple(i for i in sized if i not in kept_want)
            if summed_got and summed_want and summed_got != summed_want:
                ways.add((summed_got, summed_want))
    return ways


def _kept_ways(shape: tuple[int, ...], sized: list[int], kept: tuple[int, ...]) -> list:
    """The dimensions of `shape` (among `sized`) a sum can keep, in order, to leave `kept`."""
    return [
        dims
        for dims in itertools.combinations(sized, len(kept))
        if tuple(shape[i] for i in dims) == kept
    ]


def _dims(dims: tuple[int, ...]) -> str:
    """(1,) -> "dim 1"; (0, 1) -> "dims 0 and 1"."""
    if len(dims) == 1:
        return f"dim {dims[0]}"
    return "dims " + ", ".join(map(str, dims[:-1])) + f" and {dims[-1]}"


def _broadcast_into(small: torch.Size, big: torch.Size) -> bool:
    """True when `small` broadcasts to `big`: the student kept a dimension the forward broadcast."""
    if torch.Size(small).numel() >= torch.Size(big).numel() or len(small) > len(big):
        return False
    # Broadcasting's rule, right-aligned: each of small's dimensions is 1 or big's. Written out
    # because torch.broadcast_shapes costs ~40 ms a call here (paid per wrong-shape answer).
    return all(s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False))


def diff_map(rel_err: torch.Tensor) -> list[list[float]]:
    """A coarse 2-D grid of the relative error (max-pooled), for the report's heatmap."""
    grid = rel_err.reshape(rel_err.shape[0], -1) if rel_err.dim() >= 2 else rel_err.reshape(1, -1)
    rows, cols = grid.shape
    if rows == 0 or cols == 0:
        return []
    rstep, cstep = -(-rows // DIFF_MAP_SIDE), -(-cols // DIFF_MAP_SIDE)
    pooled = torch.nn.functional.max_pool2d(
        grid[None, None].float(), (rstep, cstep), ceil_mode=True
    )[0, 0].clamp(max=torch.finfo(torch.float32).max)  # beyond float32's range: its largest
    # tolist() once: iterating a tensor makes a tensor of every number (~5 µs each).
    return [[round(v, 6) for v in row] for row in pooled.tolist()]


def _floating(name: str) -> bool:
    """Whether torch names a real floating-point dtype `name` (float8_e4m3fn is one, which
    travels from no student process: it was told "a gradient is a real floating-point tensor",
    which it is). The name comes from the student's process: only torch's own dtypes count,
    looked up in its namespace as it stands (getattr would let a name such as `_dynamo` import
    one of torch's lazy submodules into the grader)."""
    dtype = vars(torch).get(name)
    return isinstance(dtype, torch.dtype) and dtype.is_floating_point


def _coarser(answer: torch.dtype, inputs: torch.dtype) -> bool:
    """True when the answer's dtype holds fewer significant bits than the inputs'."""
    if answer == inputs or not answer.is_floating_point or not inputs.is_floating_point:
        return False
    return torch.finfo(answer).eps > torch.finfo(inputs).eps


def _squeezed(shape: torch.Size) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def not_finite(answer: torch.Tensor, dtype: torch.dtype) -> str:
    """Why an answer is unusable once cast to the run's dtype: a float64 1e300 is finite and
    becomes Inf in float32, which "contains NaN or Inf" did not explain."""
    if torch.isfinite(answer).all():
        largest, name = float(answer.abs().max()), str(dtype).removeprefix("torch.")
        return f"has values beyond {name}'s range (up to {largest:.3g})"
    return "contains NaN or Inf"
