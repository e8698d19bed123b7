"""The likely mistake behind a wrong gradient, read off the numbers: one table of rules.

A rule looks at the student's answer `s` and the truth `t` (both float64, same shape) and says
what the difference most likely means, in the student's terms. The first rule that fits wins.
An assignment adds its own known mistakes (Bessel inside a fused formula, say) as labelled
tensors in `HintContext.mistakes`; the rule `known_mistake` matches them. To add a rule, append a
`HintRule` to `RULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

# How close `s` must be to a rule's prediction, relative to the prediction's scale: float32 noise
# is about 1e-6, so 1e-4 is loose enough; and `s` must be at least CLOSER times nearer to the
# prediction than to the truth, so that an answer that is almost right (fused Bessel on a large
# batch is only 7e-4 from the truth) is never explained by a mistake it merely resembles.
MATCH = 1e-4
CLOSER = 10.0


@dataclass
class HintContext:
    """What the rules may know besides the two tensors."""

    n: int
    mistakes: dict[str, torch.Tensor] = field(default_factory=dict)
    # The batch's indices, for a gradient of an embedding table (rows that repeat must add up).
    index: torch.Tensor | None = None
    var: str = ""  # the variable the gradient is of (`counts` for dcounts), for the words
    # Whether a variance's 1/(n-1) can reach this gradient. Where none does (a cross-entropy's
    # gradients), a factor n/(n-1) is a mean's 1/n written 1/(n-1), and naming Bessel's
    # correction sends the student to a variance their formula does not have.
    variance: bool = True


@dataclass(frozen=True)
class HintRule:
    name: str
    hint: Callable[[torch.Tensor, torch.Tensor, HintContext], str | None]


def _fits(s: torch.Tensor, predicted: torch.Tensor, t: torch.Tensor) -> bool:
    """`s` is `predicted` up to float noise, and much nearer to it than to the truth `t`."""
    if s.shape != predicted.shape:
        return False
    off = float((s - predicted).abs().max())
    scale = max(float(predicted.abs().max()), 1e-30)
    return off <= MATCH * scale and off * CLOSER <= float((s - t).abs().max())


def _factor(s: torch.Tensor, t: torch.Tensor) -> float | None:
    """The c with s = c * t, if there is one."""
    tt = float((t * t).sum())
    if tt == 0.0:
        return None
    c = float((s * t).sum()) / tt
    return c if c != 0 and _fits(s, c * t, t) else None


def sign_flipped(s, t, ctx) -> str | None:
    return "the sign is flipped" if _fits(s, -t, t) else None


def _named_factors(n: int, variance: bool = True) -> list[tuple[float, str]]:
    """The factors a lecture mistake leaves, each with its likely cause (first match wins).
    `variance`: HintContext.variance; without one, only the mean's 1/n can be mistaken."""
    bessel = "Bessel's correction (the variance divides by n-1, not n)"
    named = [
        (float(n), "off by a factor n: is a 1/n (the mean) missing?"),
        (1 / n, "off by a factor 1/n: a 1/n (the mean) applied once too often?"),
        (float(n * n), "off by a factor n**2: a multiplication by n where 1/n (the mean) belongs?"),
        (1 / (n * n), "off by a factor 1/n**2: a division by n where a multiplication belongs?"),
    ]
    if n > 2 and not variance:
        named += [
            (n / (n - 1), "off by n/(n-1): a 1/(n-1) where the mean's 1/n belongs?"),
            ((n - 1) / n, "off by (n-1)/n: an n-1 where the mean's n belongs?"),
        ]
    elif n > 2:  # at n = 2, n/(n-1) is 2 and n-1 is 1: those cannot be told apart
        named += [
            (n / (n - 1), f"off by n/(n-1): {bessel}"),
            ((n - 1) / n, f"off by (n-1)/n: {bessel}"),
            # The variance divided by n inside bnvar_inv's square root (`unbiased=False`, a
            # std of its own): it was "off by a constant factor of about 1.016".
            ((n / (n - 1)) ** 0.5, f"off by sqrt(n/(n-1)): {bessel}, under a square root"),
            (((n - 1) / n) ** 0.5, f"off by sqrt((n-1)/n): {bessel}, under a square root"),
            (float(n - 1), "off by a factor n-1: is the variance's 1/(n-1) missing?"),
            (1 / (n - 1), "off by a factor 1/(n-1): the variance's 1/(n-1) applied twice?"),
        ]
    named += [
        (2.0, "off by a factor 2: a branch counted twice, or the power rule's factor?"),
        (0.5, "off by a factor 1/2: a missing factor 2 (the power rule) or a missing branch?"),
    ]
    return named


def constant_factor(s, t, ctx) -> str | None:
    c = _factor(s, t)
    if c is None or abs(c - 1) < MATCH or abs(c + 1) < MATCH:  # 1: right; -1: the sign rule's
        return None
    sign = "the sign is flipped, and it is " if c < 0 else ""
    for value, text in _named_factors(ctx.n, ctx.variance):
        if abs(abs(c) / value - 1) < MATCH:
            return sign + text
    shown = f"{c:.6f}" if abs(c - 1) < 0.01 else f"{c:.4g}"  # 1.0003, not "1"
    return f"off by a constant factor of about {shown}"


def transposed(s, t, ctx) -> str | None:
    if s.dim() == 2 and s.shape[0] == s.shape[1] and _fits(s, t.T, t):
        return "the matrix is transposed (check the order of the matrix product)"
    return None


def known_mistake(s, t, ctx) -> str | None:
    for label, wrong in ctx.mistakes.items():
        if _fits(s, wrong, t):
            return label
    return None


def all_zero(s, t, ctx) -> str | None:
    return "the answer is all zeros" if not s.any() else None


def repeated_rows_lost(s, t, ctx) -> str | None:
    """Right on rows indexed once, wrong on rows indexed several times: `+=` through a fancy
    index, which keeps one of a repeated index's contributions.

    Where no row is indexed once (every index of a small case repeats, as in a few of an
    assignment's cases), any answer wrong in every used row fits the pattern; one that is a
    constant multiple of the truth (`-0.1 * dC`, an update returned for a gradient) is left to
    the sign and factor rules, which name it."""
    if ctx.index is None or not ctx.index.numel() or s.dim() != 2:
        return None
    if s.shape == t.shape and _factor(s, t) is not None:
        return None
    if s.shape[0] <= int(ctx.index.max()):
        return None
    counts = torch.bincount(ctx.index.reshape(-1), minlength=s.shape[0])
    wrong = (s - t).abs().amax(dim=1) > MATCH * max(float(t.abs().max()), 1e-30)
    once, more = counts == 1, counts > 1
    if more.any() and wrong.any() and not wrong[once].any() and bool((wrong <= more).all()):
        return REPEATED
    return None


REPEATED = (
    "wrong only in the rows of characters that occur more than once in the batch: repeated "
    "characters must add up (`+=` through a fancy index keeps only one of them; use index_add_ "
    "or a loop)"
)


def missing_broadcast_term(s, t, ctx) -> str | None:
    """The difference is one vector repeated along a dimension: a branch through a sum's or a
    broadcast's term is missing (`counts` feeds `counts_sum` too; `hprebn` feeds the mean)."""
    d = s - t
    if d.dim() != 2 or min(d.shape) < 2:
        return None
    size, scale = float(d.abs().max()), float(t.abs().max())
    if size < 1e-2 * scale:  # nearly right: no branch is missing, whatever the pattern
        return None
    tol = 1e-3 * size + 1e-6 * scale  # float32 noise is about 1e-7 of the scale
    var = f"`{ctx.var}`" if ctx.var else "the variable"
    for dim, across in ((0, "row"), (1, "column")):
        # A truth that is itself the same in every row (dbndiff2, a broadcast of dbnvar) makes
        # any wrong answer off by the same amount in every row: that says nothing of a branch.
        if _same_along(t, dim, 1e-6 * scale):
            continue
        if _same_along(d, dim, tol):
            return (
                f"a branch is missing or wrong: your answer is off by the same amount in every "
                f"{across}, as by a term that reaches {var} through a sum, a mean or a "
                f"broadcast; if {var} feeds more than one place in the forward pass, add the "
                "gradient of every branch"
            )
    return None


def _same_along(x: torch.Tensor, dim: int, tol: float) -> bool:
    """Every slice of `x` along `dim` is the same, up to `tol`."""
    return float((x - x.mean(dim, keepdim=True)).abs().max()) <= tol


RULES: list[HintRule] = [
    HintRule("all zeros", all_zero),
    HintRule("known mistake", known_mistake),
    HintRule("repeated rows", repeated_rows_lost),
    HintRule("sign", sign_flipped),
    HintRule("constant factor", constant_factor),
    HintRule("transpose", transposed),
    HintRule("missing broadcast term", missing_broadcast_term),
]


@dataclass(frozen=True)
class SizeRule:
    """The sizes a student may hard-code, as a case's config reports them, and the hint's
    words. An assignment passes its own to `grading.make_item` (Backprop Ninja: the lecture's
    sizes); without one, the first public case's whole-number sizes are the reference, so a
    gradient right there and wrong at another public case's sizes gets the hint in any
    assignment (the lecture's sizes once lived here, and no other assignment got it)."""

    reference: dict[str, int]
    name: str = "the first public case's sizes"
    examples: str = ""  # what a hard-coded size looks like; default: the reference's values
    advice: str = "use the sizes you may declare or the shapes of your inputs"


def size_hint(cases: list, rule: SizeRule | None = None) -> str:
    """For an item: right at the reference sizes, wrong at other public ones: a size is
    hard-coded. `cases` are CaseResults."""
    rule = rule or _first_public_sizes(cases)
    if rule is None:
        return ""
    at = [c for c in cases if _has_sizes(c.config, rule.reference)]
    others = [c for c in cases if c.public and not _has_sizes(c.config, rule.reference)]
    if not at or not all(c.passed for c in at):
        return ""
    failing = [c for c in others if c.status in ("failed", "error")]
    if not failing:
        return ""
    cfg = failing[0].config
    sizes = ", ".join(f"{k}={cfg[k]}" for k in rule.reference if k in cfg)
    examples = rule.examples or ", ".join(dict.fromkeys(str(v) for v in rule.reference.values()))
    return f"right at {rule.name}, wrong at {sizes}: a hard-coded size ({examples}?); {rule.advice}"


def _first_public_sizes(cases: list) -> SizeRule | None:
    public = [c for c in cases if c.public]
    if not public:
        return None
    sizes = {
        k: v
        for k, v in (public[0].config or {}).items()
        if isinstance(v, int) and not isinstance(v, bool) and k != "seed"
    }
    return SizeRule(sizes) if sizes else None


def _has_sizes(config: dict, sizes: dict[str, int]) -> bool:
    return all(config.get(k) == v for k, v in sizes.items())


def hint_for(s: torch.Tensor, t: torch.Tensor, ctx: HintContext) -> str:
    """The first rule's hint that fits, or an empty string."""
    for rule in RULES:
        text = rule.hint(s, t, ctx)
        if text:
            return text
    return ""
