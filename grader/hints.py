"""The likely mistake behind a wrong gradient, read off the numbers: one table of rules.

A rule looks at the student's answer `s` and the truth `t` (both float64, same shape) and says
what the difference most likely means, in the student's terms. The first rule that fits wins.
An assignment adds its own known mistakes (a missing branch, `dC[Xb] += demb`) as labelled
tensors in `HintContext.mistakes`; the rule `known_mistake` matches them. To add a rule, append a
`HintRule` to `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

# How close `s` must be to a rule's prediction: loose enough for float32 noise, tight enough that
# a rule never fires on an unrelated mistake.
MATCH = 1e-3


@dataclass
class HintContext:
    """What the rules may know besides the two tensors."""

    n: int
    mistakes: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class HintRule:
    name: str
    hint: Callable[[torch.Tensor, torch.Tensor, HintContext], str | None]


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    scale = max(float(b.abs().max()), 1e-30)
    return a.shape == b.shape and float((a - b).abs().max()) <= MATCH * scale


def _factor(s: torch.Tensor, t: torch.Tensor) -> float | None:
    """The c with s = c * t, if there is one."""
    tt = float((t * t).sum())
    if tt == 0.0:
        return None
    c = float((s * t).sum()) / tt
    return c if c != 0 and _close(s, c * t) else None


def sign_flipped(s, t, ctx) -> str | None:
    return "the sign is flipped" if _close(s, -t) else None


def constant_factor(s, t, ctx) -> str | None:
    c = _factor(s, t)
    if c is None or abs(c - 1) < MATCH:
        return None
    n = ctx.n
    named = {
        n / (n - 1)
        if n > 1
        else None: "off by n/(n-1): Bessel's correction (the variance divides by n-1, not n)",
        (n - 1) / n
        if n > 1
        else None: "off by (n-1)/n: Bessel's correction (the variance divides by n-1, not n)",
        float(n): "off by a factor n: is a 1/n (the mean) missing?",
        1 / n: "off by a factor 1/n: a 1/n (the mean) applied once too often?",
        2.0: "off by a factor 2: a branch counted twice, or the power rule's factor?",
        0.5: "off by a factor 1/2: a missing factor 2 (the power rule) or a missing branch?",
    }
    for value, text in named.items():
        if value is not None and abs(c / value - 1) < MATCH:
            return text
    return f"off by a constant factor of about {c:.4g}"


def transposed(s, t, ctx) -> str | None:
    if s.dim() == 2 and s.shape[0] == s.shape[1] and _close(s.T, t):
        return "the matrix is transposed (check the order of the matrix product)"
    return None


def known_mistake(s, t, ctx) -> str | None:
    for label, wrong in ctx.mistakes.items():
        if wrong.shape == s.shape and _close(s, wrong):
            return label
    return None


def all_zero(s, t, ctx) -> str | None:
    return "the answer is all zeros" if not s.any() else None


RULES: list[HintRule] = [
    HintRule("all zeros", all_zero),
    HintRule("known mistake", known_mistake),
    HintRule("sign", sign_flipped),
    HintRule("constant factor", constant_factor),
    HintRule("transpose", transposed),
]


def hint_for(s: torch.Tensor, t: torch.Tensor, ctx: HintContext) -> str:
    """The first rule's hint that fits, or an empty string."""
    for rule in RULES:
        text = rule.hint(s, t, ctx)
        if text:
            return text
    return ""
