"""A hidden case's generator is filled from a 128-bit secret; a public case's is torch's own.

torch's `manual_seed` keeps a seed's low 32 bits alone, so a case drawn from one is one of 2**32,
which a search finds from a few dozen bits of its inputs. grader/seeding.py writes a secret's
expansion into the whole Mersenne Twister state instead; these tests prove the state's layout it
relies on against MT19937 itself, and that it refuses a torch that lays the state out otherwise.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from grader import seeding
from grader.backprop_ninja.cases import PUBLIC, build_case, cases
from grader.backprop_ninja.hidden import HIDDEN
from grader.cli import main


@pytest.fixture
def fresh_layout():
    """_layout is found once per process, the cases built once: a test that fakes torch's
    state finds both again, and leaves them to be found again after it."""
    seeding._layout.cache_clear()
    cases.cache_clear()
    yield
    seeding._layout.cache_clear()
    cases.cache_clear()


def big_endian_words(g: torch.Generator) -> bytes:
    """A torch that keeps its state's words elsewhere: here, each word big-endian."""
    state = bytearray(g.get_state().tolist())
    for i in range(24, 24 + 8 * seeding.MT_WORDS, 8):
        state[i : i + 4] = state[i : i + 4][::-1]
    return bytes(state)


def test_manual_seed_leaves_mt19937s_own_seeding_where_the_words_are_written():
    """The layout is proved, not assumed: after manual_seed(s), the words at the offset the
    grader writes are MT19937's init_genrand(s), computed here in Python, for seeds it never
    probed."""
    _, offset, stride = seeding._layout()
    for s in random.Random(1).sample(range(2**32), 5):
        state = bytes(torch.Generator().manual_seed(s).get_state().tolist())
        words = [
            int.from_bytes(state[offset + i * stride : offset + (i + 1) * stride], "little")
            for i in range(seeding.MT_WORDS)
        ]
        assert words == seeding.init_genrand(s), s


def test_init_genrand_is_mt19937s_seeding():
    """The reference the layout is matched against: MT19937's published first output for its
    default seed 5489 (std::mt19937's first value, 3499211612)."""
    assert seeding.mt_outputs(seeding.init_genrand(5489), 1) == [3499211612]


def test_a_secrets_generator_draws_what_mt19937_draws_from_the_written_words():
    secret = seeding.draw_secret()
    words = seeding.secret_words(secret)
    g = seeding.generator(secret)
    # randint over 2**16 values takes one 32-bit output a draw: its low 16 bits.
    got = torch.randint(0, 2**16, (2000,), generator=g).tolist()
    assert got == [w & 0xFFFF for w in seeding.mt_outputs(words, 2000)]


def test_every_bit_of_the_secret_changes_the_draws():
    """A secret is no sum or pair of 32-bit seeds: flipping any one of its 128 bits changes
    every tensor a case draws, the first normal included."""
    secret = seeding.draw_secret()
    base = torch.randn(4, generator=seeding.generator(secret))
    for bit in range(seeding.SECRET_BITS):
        other = torch.randn(4, generator=seeding.generator(secret ^ (1 << bit)))
        assert not (other == base).any(), bit


def test_a_secret_is_not_its_low_32_bits():
    """What made a large seed useless before: manual_seed(2**32 + 5) draws what 5 draws."""
    for cfg in HIDDEN:
        low = torch.randn(8, generator=torch.Generator().manual_seed(cfg.seed % 2**32))
        assert not torch.equal(torch.randn(8, generator=seeding.generator(cfg.seed)), low)


def test_a_torch_seed_draws_as_manual_seed_so_public_cases_keep_their_numbers():
    for seed in (0, 7, 42, 2**32 - 1):
        want = torch.randn(40, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(torch.randn(40, generator=seeding.generator(seed)), want)


@pytest.mark.parametrize("seed", [2**32, 2**32 + 5, 2**64, seeding.SECRET_FLOOR - 1, -1])
def test_a_seed_neither_torchs_nor_a_secret_is_refused(seed):
    """torch would drop its high bits: silently 32 bits again."""
    with pytest.raises(ValueError):
        seeding.generator(seed)


def test_draw_secret_gives_128_random_bits_above_the_floor():
    drawn = {seeding.draw_secret() for _ in range(50)}
    assert len(drawn) == 50
    assert all(seeding.SECRET_FLOOR <= s < 2 * seeding.SECRET_FLOOR for s in drawn)


def test_a_secrets_label_is_short_and_holds_none_of_its_digits():
    secret = seeding.draw_secret()
    label = seeding.label(secret)
    assert len(label) == 9 and label.startswith("k")
    assert label[1:] not in f"{secret:x}" and label[1:] not in str(secret)
    assert seeding.shown(secret) == label and seeding.shown(42) == 42
    assert len({seeding.label(seeding.draw_secret()) for _ in range(50)}) == 50


def test_a_torch_laying_its_state_out_otherwise_is_refused_not_run_on_32_bits(
    monkeypatch, fresh_layout
):
    """Should a torch build keep its words elsewhere, no hidden case is drawn at all: the
    grader stops with an error naming the torch, never a 32-bit seed. Public cases, drawn with
    manual_seed, are built as ever (a student's check.py never needs the layout)."""
    monkeypatch.setattr(seeding, "_state_bytes", big_endian_words)
    with pytest.raises(seeding.GeneratorLayoutError, match="layout the grader does not know"):
        build_case(HIDDEN[0], public=False)
    assert build_case(PUBLIC[1], public=True).Xb.shape == (PUBLIC[1].n, PUBLIC[1].block_size)


def test_grade_says_so_in_one_line_and_grades_nothing(monkeypatch, fresh_layout, tmp_path):
    """`grader grade` stops before any submission, with the reason in one line, not a
    traceback (the TA's to fix: another torch)."""
    monkeypatch.setattr(seeding, "_state_bytes", big_endian_words)
    solutions = Path(__file__).parents[1] / "solutions" / "backprop-ninja"
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["grade", str(solutions), "--out", str(out), "-j", "1"])
    assert run.exit_code == 1, run.output
    assert run.output.startswith("Error: torch "), run.output
    assert "layout the grader does not know" in run.output
    assert "Traceback" not in run.output and not list(out.rglob("result.json"))


def test_a_torch_drawing_otherwise_from_the_written_state_is_refused(monkeypatch, fresh_layout):
    """The words found where manual_seed puts them, but the generator's draws not MT19937's
    from them: refused too."""
    real = seeding.mt_outputs
    monkeypatch.setattr(seeding, "mt_outputs", lambda words, n: real(words, n + 1)[1:])
    with pytest.raises(seeding.GeneratorLayoutError, match="does not draw what"):
        seeding.generator(seeding.draw_secret())
