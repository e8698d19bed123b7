# Your file: replace every `raise NotImplementedError(...)` with your code, then run
# `python check.py`. (Course staff: generated from the solutions by
# `make stubs ASSIGNMENT=backprop-ninja`.)
"""Exercise 2: fused backward passes, one formula per layer instead of a chain of small steps.

Exercise 1 backpropagated cross-entropy in eight steps and BatchNorm in nine. Here each layer's
gradient is derived on paper and written as one formula from the layer's forward values:

    dlogits: the gradient of loss = F.cross_entropy(logits, Yb) with respect to logits.
    dhprebn: the gradient through the BatchNorm layer, from dhpreact back to hprebn, where
             hpreact = bngain * (hprebn - mean) / sqrt(var + 1e-5) + bnbias with the batch mean
             and the Bessel-corrected batch variance (1/(n-1)).

Arguments are supplied by name: a function receives exactly the parameters it declares, each
filled with the forward variable of that name (see exercise 1 for the whole forward pass).
"Fused" means no intermediate gradients: dlogits may declare the cross-entropy's input and
forward values (logits, Yb, logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs,
logprobs, loss); dhprebn may declare dhpreact and the BatchNorm layer's own forward values and
parameters (hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, bngain,
bnbias). Both may use n and the sizes (vocab_size, block_size, n_embd, n_hidden, batch_size).
Never hard-code sizes, and no autograd.
"""

import torch  # noqa: F401 (unused in the stubs until the TODOs are done)
import torch.nn.functional as F  # noqa: F401 (F.one_hot and F.softmax are handy)


def dlogits(logits, Yb, n):
    """dloss/dlogits for loss = F.cross_entropy(logits, Yb), shape (n, vocab_size), in one formula.

    Work it out for one row on paper: the gradient of -log(softmax(logits)[y]) is the softmax
    itself, minus 1 at the correct class y. The loss is a mean over the n rows, so divide by n.

    Allowed: the cross-entropy's input and forward values (logits, Yb, logit_maxes, norm_logits,
    counts, counts_sum, counts_sum_inv, probs, logprobs, loss), n and the sizes; no gradients.
    """
    raise NotImplementedError("TODO: dlogits")


def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):
    """dloss/dhprebn through the whole BatchNorm layer, shape (n, n_hidden), in one formula.

    Every hprebn[i] reaches every output of its column through the batch mean and variance, so
    the gradient has three parts: the direct path, the mean's (a sum of dhpreact over the batch)
    and the variance's (a sum of dhpreact * bnraw over the batch). Mind Bessel's correction:
    the variance divides by n-1, which leaves a factor n/(n-1) in the variance's part.

    Allowed: dhpreact and the layer's own forward values and parameters (hprebn, bnmeani, bndiff,
    bndiff2, bnvar, bnvar_inv, bnraw, hpreact, bngain, bnbias), n and the sizes; no other gradient.
    """
    raise NotImplementedError("TODO: dhprebn")
