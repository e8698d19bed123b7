"""The hidden cases: other seeds and sizes, so that hard-coded sizes and transposes fail.

Never shipped to students. Every lecture size (27, 32, 64, 10, 3) differs in some case; every
case keeps its layers non-square (a transposed W1 or W2 fails on shape), draws enough contexts
that characters repeat (so `dC[Xb] += demb` is caught), and n = 100 tells Bessel's n from n-1
apart by 1%, two orders of magnitude above the tolerance.
"""

from __future__ import annotations

from .model import Config

HIDDEN = (
    Config(vocab_size=11, block_size=2, n_embd=3, n_hidden=7, n=5, seed=1),
    Config(vocab_size=13, block_size=4, n_embd=6, n_hidden=20, n=17, seed=2),
    Config(vocab_size=27, block_size=3, n_embd=10, n_hidden=64, n=100, seed=3),
    Config(vocab_size=31, block_size=5, n_embd=4, n_hidden=33, n=9, seed=4),
    Config(vocab_size=27, block_size=3, n_embd=10, n_hidden=64, n=32, seed=5),
)
