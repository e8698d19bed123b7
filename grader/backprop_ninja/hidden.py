"""The hidden cases: other seeds and sizes, so that hard-coded sizes and transposes fail.

Never shipped to students. Every lecture size (27, 32, 64, 10, 3) differs in some case; every
case keeps its matrices non-square and unlike each other's transposes (a transposed product fails
on shape), draws enough contexts that characters repeat, inside one context too (so `dC[Xb] +=
demb` and a loop over rows, `dC[Xb[k]] += demb[k]`, are caught), has a quiet unit (so a dropped
epsilon is caught, 98x the tolerance at least, as on the public cases), and n = 100 checks
Bessel's n against n-1 where it is hardest to see: 1% off in exercise 1's dbndiff2, 8e-4 in the
fused dhprebn, still 40x the tolerance. Two cases (n = 5 and n = 9) leave the last character out
of Xb and Yb, so that `F.one_hot(Xb)` without num_classes is the wrong shape there.
tests/test_hidden.py holds these properties; tests/test_judge.py measures the margins.

The seeds are the only secret here: cases.py and model.py ship, so a case's sizes and seed rebuild
its inputs and autograd's answers. A small seed is one guess away (a file storing the answers for
seeds 0 to 15 at the lecture's sizes fits the upload limit), and a seed torch's `manual_seed`
takes is one of 2**32, which a search finds from a few dozen bits of the inputs (student code
can spell them out through the cases it passes). So each seed is a secret of 128 random bits
(grader/seeding.py's draw_secret, at or above 2**128) that fills the generator's whole state:
no search of 2**32 seeds, nor of two 32-bit halves, reaches it. Each was kept if every property
and margin above held. Results and reports name a case by its secret's label, never the secret.
"""

from __future__ import annotations

from .model import Config

HIDDEN = (
    Config(
        vocab_size=11,
        block_size=2,
        n_embd=3,
        n_hidden=7,
        n=5,
        seed=0x1835B70E644F519E4D104314F53F059BA,
        quiet_unit=True,
    ),
    Config(
        vocab_size=13,
        block_size=4,
        n_embd=6,
        n_hidden=20,
        n=17,
        seed=0x1FCEA8D42D0AF3152EF86969080E899F8,
        quiet_unit=True,
    ),
    Config(
        vocab_size=27,
        block_size=3,
        n_embd=10,
        n_hidden=64,
        n=100,
        seed=0x1BD48AC070970E08A14AA2CF08F1EAACD,
        quiet_unit=True,
    ),
    Config(
        vocab_size=31,
        block_size=5,
        n_embd=4,
        n_hidden=33,
        n=9,
        seed=0x13B6406D730DDFCBE6BA3A076650D4859,
        quiet_unit=True,
    ),
    Config(
        vocab_size=27,
        block_size=3,
        n_embd=10,
        n_hidden=64,
        n=32,
        seed=0x194915C74985D2F7D88BE833F949E7D17,
        quiet_unit=True,
    ),
)
