"""Judging one returned value against autograd's float64 truth: closeness, shape, dtype, finiteness.

The rule (SPEC "How it is judged"): an answer passes when its largest absolute error, divided by
the gradient's scale (its largest true magnitude, or a related gradient's for the ones that are
mathematically zero), is at most the tolerance of the coarser of the input and answer dtypes.

Why these tolerances: a correct float32 answer, computed from float32 inputs in any valid way,
lands within about 1e-6 of the float64 truth relative to the scale (tests/test_judge.py measures
the worst correct formulation); the smallest classic mistake, Bessel's n against n-1 at n = 100,
is off by 1e-2. 1e-4 sits two orders of magnitude from both. The same reasoning gives the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .sandbox.client import NotATensor

TOLERANCE = {
    torch.float64: 1e-9,
    torch.float32: 1e-4,
    torch.float16: 5e-3,
    torch.bfloat16: 3e-2,
}

# A heatmap of where a failed answer differs, at most this many cells a side.
DIFF_MAP_SIDE = 32


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


def judge(
    value: object,
    truth: torch.Tensor,
    *,
    input_dtype: torch.dtype,
    scale_floor: float = 0.0,
    name: str = "the gradient",
) -> Verdict:
    """Compare a decoded student value with the truth; never raises on any student value."""
    if value is None:
        return Verdict(False, "returned None: did you forget `return`?")
    if isinstance(value, NotATensor):
        return Verdict(False, f"returned a {value.type_name}, not a torch.Tensor")
    t, dtype_name = value
    shape = list(t.shape)
    if not t.is_floating_point():
        return Verdict(
            False,
            f"returned a {dtype_name} tensor; a gradient is a floating-point "
            f"tensor like its inputs ({_name(input_dtype)})",
            shape=shape,
            dtype=dtype_name,
        )
    warnings: list[str] = []
    answer_dtype = getattr(torch, dtype_name, t.dtype)
    tol = max(TOLERANCE.get(input_dtype, 1e-4), TOLERANCE.get(answer_dtype, 1e-4))
    if answer_dtype != input_dtype:
        warnings.append(
            f"returned {dtype_name} while the inputs are {_name(input_dtype)}; "
            f"judged with the coarser dtype's tolerance"
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
                shape_message(t.shape, truth.shape),
                shape=shape,
                dtype=dtype_name,
                warnings=warnings,
            )
    if not torch.isfinite(t).all():
        bad = "NaN" if torch.isnan(t).any() else "Inf"
        return Verdict(
            False, f"contains {bad} values", shape=shape, dtype=dtype_name, warnings=warnings
        )
    answer = t.double()
    err = (answer - truth).abs()
    max_abs = float(err.max()) if err.numel() else 0.0
    scale = max(float(truth.abs().max()) if truth.numel() else 0.0, scale_floor, 1e-30)
    rel = max_abs / scale
    passed = rel <= tol
    message = (
        ""
        if passed
        else f"max difference {max_abs:.3g} is {rel:.2g} of the gradient's scale (tol {tol:g})"
    )
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
    )


def shape_message(got: torch.Size, want: torch.Size) -> str:
    """Name both shapes, and the likely reason where the shapes show it."""
    msg = f"wrong shape: returned {_fmt(got)}, expected {_fmt(want)}"
    if len(got) == 2 and tuple(got) == tuple(want)[::-1]:
        return msg + " (transposed? check the order of the matrix product)"
    if _broadcast_into(want, got):
        return msg + " (did you sum over the broadcast dimension?)"
    if torch.Size(got).numel() == torch.Size(want).numel():
        return msg + " (same number of elements: a view or reshape of the right values?)"
    return msg


def _broadcast_into(small: torch.Size, big: torch.Size) -> bool:
    """True when `small` broadcasts to `big`: the student kept a dimension the forward broadcast."""
    if torch.Size(small).numel() >= torch.Size(big).numel():
        return False
    try:
        return tuple(torch.broadcast_shapes(small, big)) == tuple(big)
    except RuntimeError:
        return False


def diff_map(rel_err: torch.Tensor) -> list[list[float]]:
    """A coarse 2-D grid of the relative error (max-pooled), for the report's heatmap."""
    grid = rel_err.reshape(rel_err.shape[0], -1) if rel_err.dim() >= 2 else rel_err.reshape(1, -1)
    rows, cols = grid.shape
    if rows == 0 or cols == 0:
        return []
    rstep, cstep = -(-rows // DIFF_MAP_SIDE), -(-cols // DIFF_MAP_SIDE)
    pooled = torch.nn.functional.max_pool2d(
        grid[None, None].float(), (rstep, cstep), ceil_mode=True
    )[0, 0]
    return [[round(float(v), 6) for v in row] for row in pooled]


def _squeezed(shape: torch.Size) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _fmt(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
