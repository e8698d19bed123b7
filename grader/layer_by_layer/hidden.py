"""The hidden cases: other shapes and seeds, so that hard-coded sizes and dims fail.

Never shipped to students. Every weight is non-square (a transpose fails on shape), every
batchnorm case keeps B and T apart (B*T against B tells the lecture's 3-D bug), embeddings draw
more positions than rows (rows repeat), and one flatten case takes T == n (the squeezed output).
Every batchnorm input is shrunk (`scale`) to a variance between 1e-4 and 1e-2, where the epsilon
1e-5 counts: a dropped or misplaced one fails there (at a variance near 1 it moves the gradient
by less than the tolerance; nothing else changes with the scale). One embedding case leaves its
last rows unused and one cross-entropy case its last classes, so that a gradient sized from the
indices (`one_hot(ix)` without num_classes, `ix.max() + 1` rows) fails there; so do those at the
run's sizes. Each item has a case more at every size the training run hands it, first of its
hidden ones (AT_RUN_SIZES): the run counts only where every module passed those
(training.counted).

The seeds are the only secret here: model.py and cases.py ship, so a case's configuration and
seed rebuild its inputs and autograd's answers. A small seed is a guess away, and one torch's
`manual_seed` takes is one of 2**32, which a search finds from a few dozen bits of the inputs
(spelt out through the cases student code passes). So each seed is a secret of 128 random bits
(grader/seeding.py's draw_secret, at or above 2**128) that fills the generator's whole state,
kept if the case held every property above and tests/test_layer_by_layer.py's margins. Results
and reports name a case by its secret's label, never the secret.
"""

from __future__ import annotations

HIDDEN: dict[str, tuple[dict, ...]] = {
    "linear": (
        dict(batch=(7,), fan_in=5, fan_out=3, bias=True, seed=0x14E88B4064D6F5F08CEFF25C1494DD60C),
        dict(
            batch=(6, 3), fan_in=9, fan_out=4, bias=True, seed=0x107CD61144FD669F6A382561B0F8DC253
        ),
        dict(
            batch=(50,), fan_in=13, fan_out=30, bias=True, seed=0x1135E7F62325433C0C49A85F84A8393E0
        ),
    ),
    "linear_nobias": (
        dict(batch=(7,), fan_in=5, fan_out=3, bias=False, seed=0x1AD3AC9AF4249C43BDE6358DB3FF44168),
        dict(
            batch=(5, 2), fan_in=8, fan_out=11, bias=False, seed=0x1694FC73410E397168241847840B7E638
        ),
    ),
    "batchnorm_2d": (
        dict(batch=(5,), channels=3, scale=0.03, seed=0x1773A7160D685570BEBB395FE9B5B25E6),
        dict(batch=(100,), channels=17, scale=0.02, seed=0x117B2596F576B3B81CF289F180B3E46DA),
    ),
    "batchnorm_3d": (
        dict(batch=(5, 3), channels=4, scale=0.02, seed=0x1003B0686A6FAAD8A051A146BFEE2B500),
        dict(batch=(9, 2), channels=7, scale=0.03, seed=0x1DF44D4D3536206C93EF7AC292A116E5B),
        dict(batch=(20, 8), channels=6, scale=0.02, seed=0x1C32A94FFB48DC851CD37DB3713E304F8),
    ),
    "tanh": (
        dict(batch=(9,), channels=5, seed=0x1533FA8159BF5CD3221FC74DEC2D53A58),
        dict(batch=(3, 4), channels=6, seed=0x1B0D819DADF8A9A6C5DD0D1F276A68E1F),
    ),
    "embedding": (
        dict(batch=(6, 3), vocab_size=5, n_embd=4, seed=0x14A623205B0AA4A5336F7D5A14DCBF5EC),
        dict(
            batch=(11, 5),
            vocab_size=13,
            n_embd=3,
            unused_rows=2,
            seed=0x16EA1F89561D6A6E84955AA1860DC70DF,
        ),
    ),
    "flatten_consecutive": (
        dict(batch=(5, 6), channels=3, n=3, seed=0x1D4C9247444E60F97A1ACF8CC66BE779C),
        dict(batch=(4, 2), channels=7, n=2, seed=0x11F5ED2D583ED9A31142EB69EDC7C848F),
    ),
    "cross_entropy": (
        dict(batch=(5,), vocab_size=7, seed=0x1EED30E2BD0190D2E47992692C9BCF892),
        dict(
            batch=(100,), vocab_size=31, unused_classes=3, seed=0x1BC8A446104C538F74649A0842A6D37BB
        ),
    ),
}

# One case at every size the training run hands an item (training.run_sizes), drawn and kept as
# the others: the run's inputs are fixed, so its answers can be stored, and it counts only where
# every module it drives passed its cases here (training.counted). Every size, not one an item:
# a flatten with the lecture's block size hard-coded passed the one case at T = 8 and kept the
# run with its answers at T = 4 and 2 stored. The embedding's and the cross-entropy's leave
# their last row and class unused, as the run's batches mostly do ('z' is rare): a gradient
# sized from the indices (`F.one_hot(targets)`, `ix.max() + 1` rows) fails the run on its own,
# and passed the tied case that drew them, keeping the run with its answers stored. First of the
# hidden ones, so that a timeout on a larger case skips none of them.
AT_RUN_SIZES: dict[str, tuple[dict, ...]] = {
    "linear": (
        dict(
            batch=(16,), fan_in=16, fan_out=27, bias=True, seed=0x1798F7171C8B9C736EDDDEAC56EBA3663
        ),
    ),
    "linear_nobias": (
        dict(
            batch=(16, 4),
            fan_in=12,
            fan_out=16,
            bias=False,
            seed=0x1CD78A794424D5D217F9962ED1CFD508E,
        ),
        dict(
            batch=(16, 2),
            fan_in=32,
            fan_out=16,
            bias=False,
            seed=0x16465EAC3A505141E1B30FAA5CFE13E1E,
        ),
        dict(
            batch=(16,), fan_in=32, fan_out=16, bias=False, seed=0x192E2567A0435D1E9A9478DB6B7F1BD76
        ),
    ),
    "batchnorm_2d": (
        dict(batch=(16,), channels=16, scale=0.02, seed=0x1D8881B6E15513FE3479778C3A178166B),
    ),
    "batchnorm_3d": (
        dict(batch=(16, 4), channels=16, scale=0.02, seed=0x16E725A5C5CD0E6E1734C6E590B1B17DC),
        dict(batch=(16, 2), channels=16, scale=0.02, seed=0x1D2C3AB594E98DAC846292BC0C938B694),
    ),
    "tanh": (
        dict(batch=(16, 4), channels=16, seed=0x14F5D669B887DE6BA026C9BFA9AF93315),
        dict(batch=(16, 2), channels=16, seed=0x1A33D62670CFB0C0F1AB522455969012D),
        dict(batch=(16,), channels=16, seed=0x1980A05AB2570C646013D0EEC4EA4BDE4),
    ),
    "embedding": (
        dict(
            batch=(16, 8),
            vocab_size=27,
            n_embd=6,
            unused_rows=1,
            seed=0x14D146190F0F81AEFBDF223D7B6D75EDD,
        ),
    ),
    "flatten_consecutive": (
        dict(batch=(16, 8), channels=6, n=2, seed=0x158C94CEF897BC93D26EBB7D23EBB4DEB),
        dict(batch=(16, 4), channels=16, n=2, seed=0x18549F444AFF7666F96F73DD1569592EC),
        dict(batch=(16, 2), channels=16, n=2, seed=0x117DF64E08898FA492B40B45854A9FF80),
    ),
    "cross_entropy": (
        dict(
            batch=(16,), vocab_size=27, unused_classes=1, seed=0x1434FE578836DB79302A01F733D844580
        ),
    ),
}
HIDDEN = {item: (*AT_RUN_SIZES[item], *configs) for item, configs in HIDDEN.items()}
