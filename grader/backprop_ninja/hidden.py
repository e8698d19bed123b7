"""The hidden cases: other seeds and sizes, so that hard-coded sizes and transposes fail.

Never shipped to students. Every lecture size (27, 32, 64, 10, 3) differs in some case; every
case keeps its matrices non-square and unlike each other's transposes (a transposed product fails
on shape), draws enough contexts that characters repeat, inside one context too (so `dC[Xb] +=
demb` and a loop over rows, `dC[Xb[k]] += demb[k]`, are caught), has a quiet unit (so a dropped
epsilon is caught, 98x the tolerance at least, as on the public cases), and n = 100 checks
Bessel's n against n-1 where it is hardest to see: 1% off in exercise 1's dbndiff2, 8e-4 in the
fused dhprebn, still 40x the tolerance. Two cases (seeds 34 and 37) leave the last character out
of Xb and Yb, so that `F.one_hot(Xb)` without num_classes is the wrong shape there.
tests/test_hidden.py holds these properties; tests/test_judge.py measures the margins.
"""

from __future__ import annotations

from .model import Config

HIDDEN = (
    Config(vocab_size=11, block_size=2, n_embd=3, n_hidden=7, n=5, seed=34, quiet_unit=True),
    Config(vocab_size=13, block_size=4, n_embd=6, n_hidden=20, n=17, seed=2, quiet_unit=True),
    Config(vocab_size=27, block_size=3, n_embd=10, n_hidden=64, n=100, seed=3, quiet_unit=True),
    Config(vocab_size=31, block_size=5, n_embd=4, n_hidden=33, n=9, seed=37, quiet_unit=True),
    Config(vocab_size=27, block_size=3, n_embd=10, n_hidden=64, n=32, seed=5, quiet_unit=True),
)
