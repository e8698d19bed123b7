"""The example class of this assignment (`grader examples -a layer-by-layer`): edits of the
solution, each showing one classic mistake (the format is grader/examples.py's)."""

from __future__ import annotations

from grader.examples import OMIT, STUB

EXAMPLES: dict[str, dict[str, object]] = {
    # Every module right: full marks.
    "complete": {},
    # Nothing done: every item "not implemented".
    "blank": {"layers.py": STUB},
    # The lecture's own bug: batchnorm's statistics over dim 0 only, also on 3-D input
    # (fails batchnorm_3d and the training run).
    "bn_dim0": {
        "layers.py": [
            ("    dims = tuple(range(dout.dim() - 1))\n", "    dims = (0,)\n"),
            ("    n = dout.numel() // dout.shape[-1]\n", "    n = dout.shape[0]\n"),
        ]
    },
    # Bessel's correction forgotten in batchnorm's backward.
    "bessel": {"layers.py": [("- n / (n - 1) * xhat", "- xhat")]},
    # The bias is broadcast over the batch, but its gradient is not summed over it.
    "missing_bias_sum": {
        "layers.py": [
            ('grads["dbias"] = dout.reshape(-1, fan_out).sum(0)', 'grads["dbias"] = dout')
        ]
    },
    # `dweight[ix] += dout`: repeated rows of the embedding keep one of their gradients.
    "embedding_fancy_index": {
        "layers.py": [
            (
                "    dweight.index_add_(0, ix.reshape(-1), dout.reshape(-1, weight.shape[1]))\n",
                "    dweight[ix] += dout\n",
            )
        ]
    },
    # Nothing submitted: every item "missing".
    "nothing": {"layers.py": OMIT},
}
