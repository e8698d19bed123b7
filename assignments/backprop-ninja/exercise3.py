# Your file: replace every `raise NotImplementedError(...)` with your code, then run
# `python check.py`. (Course staff: generated from the solutions by
# `make stubs ASSIGNMENT=backprop-ninja`.)
"""Exercise 3: putting it all together, a whole backward pass that trains the network.

The lecture's last exercise trains the MLP with a compact forward pass and no autograd:

    emb = C[Xb]; embcat = emb.view(emb.shape[0], -1); hprebn = embcat @ W1 + b1
    bnmean = hprebn.mean(0, keepdim=True); bnvar = hprebn.var(0, keepdim=True, unbiased=True)
    bnvar_inv = (bnvar + 1e-5)**-0.5; bnraw = (hprebn - bnmean) * bnvar_inv
    hpreact = bngain * bnraw + bnbias; h = torch.tanh(hpreact); logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Yb)

`backward` computes the gradient of the loss with respect to all seven parameters, reusing the
fused formulas of exercise 2 and the layer-by-layer steps of exercise 1 for the rest.

Arguments are supplied by name: `backward` receives exactly the parameters it declares. It may
declare Xb, Yb, n, the parameters (C, W1, b1, W2, b2, bngain, bnbias), the compact forward's
variables above (emb, embcat, hprebn, bnmean, bnvar, bnvar_inv, bnraw, hpreact, h, logits, loss)
and the sizes (vocab_size, block_size, n_embd, n_hidden, batch_size). The stub declares the
lecture's set; some of it (b1, b2, bnbias, hprebn) is there for reference and may go unused.

It is judged on the gradients at one step and on a short SGD run whose parameters must track an
autograd-driven run. Never hard-code sizes, and no autograd.
"""

import torch  # noqa: F401 (unused in the stubs until the TODOs are done)
import torch.nn.functional as F  # noqa: F401 (F.one_hot and F.softmax are handy)


def backward(
    Xb, Yb, n, C, W1, b1, W2, b2, bngain, bnbias, emb, embcat, hprebn, bnvar_inv, bnraw, h, logits
):
    """The gradients of the loss with respect to every parameter, in one backward pass.

    Returns a dict with keys dC, dW1, db1, dW2, db2, dbngain, dbnbias (or a list/tuple in that
    order, the lecture's `grads`), each with its parameter's shape: dC (vocab_size, n_embd),
    dW1 (block_size * n_embd, n_hidden), db1 (n_hidden,), dW2 (n_hidden, vocab_size),
    db2 (vocab_size,), dbngain and dbnbias (1, n_hidden).

    Hints: start from exercise 2's dlogits; sum over broadcast dimensions for the biases and
    bngain; go through BatchNorm with exercise 2's dhprebn; and accumulate dC for characters
    that appear more than once in the batch (index_add_ or a loop).

    Allowed: Xb, Yb, n, the parameters, the compact forward's variables (emb, embcat, hprebn,
    bnmean, bnvar, bnvar_inv, bnraw, hpreact, h, logits, loss) and the sizes.
    """
    raise NotImplementedError("TODO: backward")
