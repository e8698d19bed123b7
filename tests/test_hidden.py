"""The hidden cases discriminate: hard-coded sizes, transposes, `dC[Xb] += demb` and Bessel fail."""

from __future__ import annotations

import dataclasses

import torch

from grader import seeding
from grader.backprop_ninja.cases import PUBLIC, Case, cases
from grader.backprop_ninja.hidden import HIDDEN
from grader.backprop_ninja.model import Config

LECTURE = Config()
SIZES = ("vocab_size", "block_size", "n_embd", "n_hidden", "n")
# The seeds torch's generator tells apart: manual_seed keeps a seed's low 32 bits alone.
GENERATOR_SEEDS = 2**32


def matrices(cfg: Config) -> dict[str, tuple[int, int]]:
    """Every 2-D shape a gradient has: none may be square, or a transpose would fit it."""
    fan_in = cfg.block_size * cfg.n_embd
    return {
        "C": (cfg.vocab_size, cfg.n_embd),
        "W1": (fan_in, cfg.n_hidden),
        "W2": (cfg.n_hidden, cfg.vocab_size),
        "embcat": (cfg.n, fan_in),
        "hprebn": (cfg.n, cfg.n_hidden),
        "logits": (cfg.n, cfg.vocab_size),
    }


def test_every_lecture_size_differs_in_some_hidden_case():
    for size in SIZES:
        assert any(getattr(c, size) != getattr(LECTURE, size) for c in HIDDEN), size


def test_every_size_takes_several_values_so_no_constant_fits_all_cases():
    for size in SIZES:
        assert len({getattr(c, size) for c in (*PUBLIC, *HIDDEN)}) >= 3, size


def test_no_gradient_is_square_in_any_case():
    for cfg in (*PUBLIC, *HIDDEN):
        for name, (rows, cols) in matrices(cfg).items():
            assert rows != cols, (cfg, name)


def test_a_transposed_product_never_fits_another_gradient():
    """No two matrices share a shape up to transposition: a wrong product is a wrong shape."""
    for cfg in (*PUBLIC, *HIDDEN):
        shapes = list(matrices(cfg).values())
        flipped = {(c, r) for r, c in shapes}
        assert not flipped & set(shapes), cfg


def test_every_case_repeats_a_character_in_its_batch():
    for case in cases():
        assert case.Xb.unique().numel() < case.Xb.numel(), case.id
        counts = torch.bincount(case.Xb.reshape(-1))
        assert int(counts.max()) >= 2


def test_every_case_repeats_a_character_inside_one_context():
    """As the lecture's `...` contexts do: a loop over rows, `dC[Xb[k]] += demb[k]`, keeps one
    use of a character repeated inside a row, and must fail every case (it passed two)."""
    for case in cases():
        assert any(row.unique().numel() < row.numel() for row in case.Xb), case.id


def test_some_cases_leave_the_last_character_out_of_the_batch():
    """`F.one_hot(Xb)` or `F.one_hot(Yb)` without num_classes is as wide as the largest index
    drawn: a batch without the last character makes it the wrong shape (it failed one case)."""
    for batch in ("Xb", "Yb"):
        short = [c.id for c in cases() if int(getattr(c, batch).max()) < c.cfg.vocab_size - 1]
        assert len(short) >= 2, (batch, short)


def test_bessel_is_checked_at_n_100_and_at_small_n():
    ns = {c.n for c in HIDDEN}
    assert 100 in ns and min(ns) <= 10


def test_the_hidden_seeds_differ_from_the_public_one_and_each_other():
    seeds = [c.seed for c in (*PUBLIC, *HIDDEN)]
    assert len(set(seeds)) == len(seeds)
    assert len({seeding.label(s) for s in seeds}) == len(seeds)  # the case ids differ too


def test_every_hidden_seed_is_unguessable():
    """cases.py and model.py ship to students, so a hidden case's sizes and seed rebuild its
    inputs and autograd's answers: the seed is the only secret a hidden case has. With seeds 34,
    2, 3, 37 and 5, a file of answers stored for seeds 0 to 15 at the lecture's sizes (within the
    upload limit) passed the lecture-sized hidden case with no gradient computed; with seeds
    drawn below 2**32 (all torch's manual_seed tells apart), a search of 2**32 seeds against
    inputs spelt out through the hidden counts found one. Each is now a secret of 128 random
    bits filling the generator's whole state (tests/test_seeding.py), and no case is built on
    torch's 32 bits from it."""
    for cfg in HIDDEN:
        assert seeding.SECRET_FLOOR <= cfg.seed < 2 * seeding.SECRET_FLOOR, cfg
        assert seeding.is_secret(cfg.seed)
    by_id = {c.id: c for c in cases()}
    for cfg in HIDDEN:
        case = next(c for c in by_id.values() if c.cfg == cfg)
        g = seeding.generator(cfg.seed)
        assert torch.equal(case.params["C"], torch.randn(case.params["C"].shape, generator=g))
        assert str(cfg.seed) not in case.id and f"{cfg.seed:x}"[:8] not in case.id
        assert case.meta()["seed"] == seeding.label(cfg.seed) == case.meta()["config"]["seed"]


def test_torchs_generator_tells_apart_only_a_seeds_low_32_bits():
    """Why a hidden seed is no manual_seed: 2**32 + 5 draws what 5 draws."""

    def draws(seed: int) -> torch.Tensor:
        return torch.randn(4, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(draws(5), draws(GENERATOR_SEEDS + 5))
    assert not torch.equal(draws(5), draws(6))


def test_every_case_has_a_quiet_unit_so_a_dropped_epsilon_fails_everywhere():
    """A unit with a tiny batch variance, where (bnvar + 1e-5) and bnvar differ enough to judge:
    the public cases catch a dropped epsilon as the hidden ones do (the check's verdict is the
    grader's). tests/test_judge.py measures the margin, as for every classic mistake."""
    for case in cases():
        assert case.cfg.quiet_unit, case.id
        assert float(case.atomic["bnvar"].min()) < 0.05, case.id


def test_every_quiet_unit_is_as_quiet_whatever_the_batch():
    """A fixed factor on its weights left the quiet unit at 1/30 of the others' variance on the
    batch of 5, where a dropped epsilon came near the tolerance (model.quieten)."""
    for case in cases():
        bnvar = case.atomic["bnvar"][0].double()
        assert 390 < float(bnvar[:-1].median() / bnvar[-1]) < 410, case.id


def test_the_cases_are_float32_like_the_lecture():
    assert {c.dtype for c in (*PUBLIC, *HIDDEN)} == {"float32"}


def test_a_case_id_names_everything_its_configuration_holds():
    """Results, hints and the known mistakes are keyed by a case's id: two configurations with
    one id would share them."""
    assert len({c.id for c in cases()}) == len(PUBLIC) + len(HIDDEN)
    base = Config()
    other = {bool: lambda v: not v, int: lambda v: v + 1, str: lambda v: "float64"}

    def case_id(cfg: Config) -> str:
        return Case(cfg, False, {}, torch.zeros(1), torch.zeros(1)).id

    for f in dataclasses.fields(Config):
        value = getattr(base, f.name)
        changed = dataclasses.replace(base, **{f.name: other[type(value)](value)})
        assert case_id(changed) != case_id(base), f.name
