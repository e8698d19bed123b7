"""The hint table: each rule names its mistake when the numbers show it, and only then."""

from __future__ import annotations

import pytest
import torch

from grader.hints import MATCH, RULES, HintContext, hint_for

N = 32


@pytest.fixture
def t() -> torch.Tensor:
    """A truth with entries of both signs and no structure (float64, like autograd's)."""
    g = torch.Generator().manual_seed(1)
    return torch.randn(N, 7, generator=g, dtype=torch.float64)


def float32(x: torch.Tensor) -> torch.Tensor:
    """A student's answer: float32 rounding, compared in float64 as the judge does."""
    return x.float().double()


def hint(s, t, n=N, mistakes=None) -> str:
    return hint_for(s, t, HintContext(n, mistakes or {}))


def test_the_rules_are_one_table_in_order_of_precedence():
    names = [r.name for r in RULES]
    assert names == [
        "all zeros",
        "known mistake",
        "repeated rows",
        "sign",
        "constant factor",
        "transpose",
        "missing broadcast term",
    ]


def test_a_flipped_sign(t):
    assert hint(float32(-t), t) == "the sign is flipped"


@pytest.mark.parametrize(
    ("factor", "says"),
    [
        (N, "off by a factor n: is a 1/n (the mean) missing?"),
        (1 / N, "off by a factor 1/n"),
        (N * N, "off by a factor n**2: a multiplication by n where 1/n (the mean) belongs?"),
        (1 / (N * N), "off by a factor 1/n**2"),
        (N / (N - 1), "off by n/(n-1): Bessel's correction"),
        ((N - 1) / N, "off by (n-1)/n: Bessel's correction"),
        (N - 1, "off by a factor n-1: is the variance's 1/(n-1) missing?"),
        ((N / (N - 1)) ** 0.5, "off by sqrt(n/(n-1)): Bessel's correction"),
        (((N - 1) / N) ** 0.5, "off by sqrt((n-1)/n): Bessel's correction"),
        (2.0, "off by a factor 2"),
        (0.5, "off by a factor 1/2"),
        (3.7, "off by a constant factor of about 3.7"),
    ],
)
def test_a_constant_factor_names_its_likely_cause(t, factor, says):
    assert hint(float32(factor * t), t).startswith(says)


def test_where_no_variance_reaches_a_factor_n_over_n_minus_1_is_the_means(t):
    ctx = HintContext(N, variance=False)
    assert hint_for(float32(N / (N - 1) * t), t, ctx) == (
        "off by n/(n-1): a 1/(n-1) where the mean's 1/n belongs?"
    )
    assert "Bessel" not in hint_for(float32((N - 1) / N * t), t, ctx)


def test_bessel_is_named_at_n_100(t):
    assert "Bessel" in hint(float32(0.99 * t), t, n=100)


def test_a_flipped_sign_and_a_factor_are_named_together(t):
    assert hint(float32(-N * t), t) == (
        "the sign is flipped, and it is off by a factor n: is a 1/n (the mean) missing?"
    )


def test_a_factor_close_to_one_is_shown_with_enough_digits(t):
    assert hint(float32(1.0007 * t), t) == "off by a constant factor of about 1.000700"


def test_at_n_2_the_factors_that_coincide_do_not_confuse_the_table(t):
    assert hint(float32(2 * t), t, n=2) == "off by a factor n: is a 1/n (the mean) missing?"


def test_a_transposed_square_matrix():
    g = torch.Generator().manual_seed(2)
    t = torch.randn(9, 9, generator=g, dtype=torch.float64)
    assert "transposed" in hint(float32(t.T), t)


def test_all_zeros(t):
    assert hint(torch.zeros_like(t), t) == "the answer is all zeros"


def test_a_known_mistake_is_named_by_its_label(t):
    wrong = t.clone()
    wrong[:, 0] = 0.0
    assert hint(float32(wrong), t, mistakes={"column 0 forgotten": wrong}) == ("column 0 forgotten")


def test_a_known_mistake_comes_before_the_generic_rules(t):
    """A mistake that is also a constant factor gets its specific label."""
    assert hint(float32(2 * t), t, mistakes={"the branch added twice": 2 * t}) == (
        "the branch added twice"
    )


def test_an_unrelated_wrong_answer_gets_no_hint(t):
    g = torch.Generator().manual_seed(3)
    other = torch.randn(t.shape, generator=g, dtype=torch.float64)
    assert hint(float32(other), t, mistakes={"a mistake": 2 * t}) == ""


def test_an_answer_no_nearer_a_mistake_than_the_truth_is_not_explained_by_it(t):
    """Fused Bessel at n = 100 is only 8e-4 from the truth: resembling it is not enough."""
    pattern = torch.linspace(-1, 1, t.numel(), dtype=torch.float64).reshape(t.shape)
    wrong = t + MATCH * 0.5 * t.abs().max() * pattern
    between = (t + wrong) / 2  # within MATCH of the mistake, but as near the truth
    assert hint(between, t, mistakes={"Bessel": wrong}) == ""
    assert hint(float32(wrong), t, mistakes={"Bessel": wrong}) == "Bessel"


def test_a_factor_hint_needs_the_whole_answer_to_be_scaled(t):
    half = t.clone()
    half[: N // 2] *= 2  # half the rows doubled: no single factor explains it
    assert hint(float32(half), t) == ""


def test_a_term_missing_through_a_broadcast_is_named(t):
    """dcounts without `+= dcounts_sum`: off by one value per row, the same in every column."""
    per_row = torch.linspace(1.0, 2.0, N, dtype=torch.float64)[:, None]
    assert hint(float32(t + per_row), t).startswith("a branch is missing or wrong")


def test_a_truth_the_same_in_every_row_says_nothing_of_a_branch():
    """dbndiff2 is dbnvar / (n-1) in every row: `ones * dbnvar` written `ones / dbnvar` (or
    `dbnvar / n - 1`) is off by the same amount in every row too, and was told 'a branch is
    missing or wrong' of a variable that feeds one place."""
    dbnvar = torch.linspace(-1.0, 2.0, 7, dtype=torch.float64)[None, :]
    t = dbnvar.expand(N, 7) / (N - 1)
    s = torch.ones(N, 7, dtype=torch.float64) / dbnvar / (N - 1)
    assert "branch" not in hint(float32(s), t)
    assert "branch" not in hint(float32(dbnvar.expand(N, 7) / N - 1), t)


def _embedding_uses(index: torch.Tensor) -> torch.Tensor:
    """Each use of a table's row, its own random contribution to the row's gradient."""
    g = torch.Generator().manual_seed(2)
    return torch.randn(index.numel(), 5, generator=g, dtype=torch.float64)


def test_a_table_every_used_row_of_which_repeats_is_wrong_in_repeated_rows_whatever_is_wrong():
    """Where no character of the batch occurs once (the public case at n=22 over 15 characters,
    3 of the 7 cases), every wrong answer is "wrong only in repeated rows": exercise 3's `dC`
    returned as an update (`-0.1 * dC`, the loop's `-lr * grad`) was told "repeated characters
    must add up" there, and "off by a constant factor of about -0.1" at the lecture's sizes. A
    factor or a sign names itself first."""
    index = torch.arange(15).repeat(6)  # every row used six times, none once
    uses = _embedding_uses(index)
    t = torch.zeros(15, 5, dtype=torch.float64).index_add_(0, index, uses)
    ctx = HintContext(22, index=index)
    assert hint_for(float32(-0.1 * t), t, ctx) == "off by a constant factor of about -0.1"
    assert hint_for(float32(-t), t, ctx) == "the sign is flipped"
    # `dC[Xb] += demb` (one use of each row kept) is still named there.
    kept = torch.zeros_like(t)
    kept[index] += uses
    assert "repeated characters must add up" in hint_for(float32(kept), t, ctx)
