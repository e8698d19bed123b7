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
seed rebuild its inputs and autograd's answers, and a small seed is a guess away. Each seed was
drawn at random from the 2**32 seeds torch's generator tells apart (manual_seed keeps a seed's low
32 bits alone), and kept if the case held every property above and tests/test_layer_by_layer.py's
margins.
"""

from __future__ import annotations

HIDDEN: dict[str, tuple[dict, ...]] = {
    "linear": (
        dict(batch=(7,), fan_in=5, fan_out=3, bias=True, seed=2386166884),
        dict(batch=(6, 3), fan_in=9, fan_out=4, bias=True, seed=2379420280),
        dict(batch=(50,), fan_in=13, fan_out=30, bias=True, seed=2921467602),
    ),
    "linear_nobias": (
        dict(batch=(7,), fan_in=5, fan_out=3, bias=False, seed=3113379756),
        dict(batch=(5, 2), fan_in=8, fan_out=11, bias=False, seed=1352975723),
    ),
    "batchnorm_2d": (
        dict(batch=(5,), channels=3, scale=0.03, seed=898114617),
        dict(batch=(100,), channels=17, scale=0.02, seed=2328547104),
    ),
    "batchnorm_3d": (
        dict(batch=(5, 3), channels=4, scale=0.02, seed=231021576),
        dict(batch=(9, 2), channels=7, scale=0.03, seed=3090193079),
        dict(batch=(20, 8), channels=6, scale=0.02, seed=3498861175),
    ),
    "tanh": (
        dict(batch=(9,), channels=5, seed=4144409006),
        dict(batch=(3, 4), channels=6, seed=2632394588),
    ),
    "embedding": (
        dict(batch=(6, 3), vocab_size=5, n_embd=4, seed=3402134161),
        dict(batch=(11, 5), vocab_size=13, n_embd=3, unused_rows=2, seed=3571715854),
    ),
    "flatten_consecutive": (
        dict(batch=(5, 6), channels=3, n=3, seed=533886086),
        dict(batch=(4, 2), channels=7, n=2, seed=3484084146),
    ),
    "cross_entropy": (
        dict(batch=(5,), vocab_size=7, seed=1108483323),
        dict(batch=(100,), vocab_size=31, unused_classes=3, seed=600190615),
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
    "linear": (dict(batch=(16,), fan_in=16, fan_out=27, bias=True, seed=2008410848),),
    "linear_nobias": (
        dict(batch=(16, 4), fan_in=12, fan_out=16, bias=False, seed=1848340783),
        dict(batch=(16, 2), fan_in=32, fan_out=16, bias=False, seed=1129413198),
        dict(batch=(16,), fan_in=32, fan_out=16, bias=False, seed=1626954381),
    ),
    "batchnorm_2d": (dict(batch=(16,), channels=16, scale=0.02, seed=1279940117),),
    "batchnorm_3d": (
        dict(batch=(16, 4), channels=16, scale=0.02, seed=1231994818),
        dict(batch=(16, 2), channels=16, scale=0.02, seed=3082045518),
    ),
    "tanh": (
        dict(batch=(16, 4), channels=16, seed=445473604),
        dict(batch=(16, 2), channels=16, seed=3199873343),
        dict(batch=(16,), channels=16, seed=775867580),
    ),
    "embedding": (dict(batch=(16, 8), vocab_size=27, n_embd=6, unused_rows=1, seed=3404014084),),
    "flatten_consecutive": (
        dict(batch=(16, 8), channels=6, n=2, seed=1718205705),
        dict(batch=(16, 4), channels=16, n=2, seed=964938447),
        dict(batch=(16, 2), channels=16, n=2, seed=3974206619),
    ),
    "cross_entropy": (dict(batch=(16,), vocab_size=27, unused_classes=1, seed=2458453455),),
}
HIDDEN = {item: (*AT_RUN_SIZES[item], *configs) for item, configs in HIDDEN.items()}
