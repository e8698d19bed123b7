# Your file: replace every `raise NotImplementedError(...)` with your code, then run
# `python check.py`. (Course staff: generated from the solutions by
# `make stubs ASSIGNMENT=backprop-ninja`.)
"""Exercise 1: backprop through the atomic compute graph, one small step at a time.

The forward pass of the lecture is chunked into steps that can each be backpropagated alone:

    emb = C[Xb]                                   # (n, block_size, n_embd)
    embcat = emb.view(emb.shape[0], -1)           # (n, block_size*n_embd)
    hprebn = embcat @ W1 + b1                     # (n, n_hidden)
    bnmeani = 1/n*hprebn.sum(0, keepdim=True)     # (1, n_hidden)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True)   # Bessel's correction
    bnvar_inv = (bnvar + 1e-5)**-0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2                          # (n, vocab_size)
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum**-1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()

Each function below is named after one gradient, dX = dloss/dX, and returns a tensor with the
shape of X. The functions come in the lecture's order, from the loss back to the embedding table.

Arguments are supplied by name: a function receives exactly the parameters it declares. It may
declare any forward variable above, any parameter (C, W1, b1, W2, b2, bngain, bnbias), Xb, Yb, n,
the sizes (vocab_size, block_size, n_embd, n_hidden, batch_size) and any gradient that comes
before it in this file. The stubs declare what the reference solution uses; change them freely
within that rule. A parameter with a default value (`eps=1e-5`) keeps it unless its name is one
of these. Every call gets fresh copies, so changing an input in place is harmless.

Each function is judged on its own: the upstream gradients it receives are autograd's, so one
mistake costs one item. Sizes vary between cases, so never hard-code 27, 32 or 64; use n and
the shapes of the tensors. No autograd (`.backward()`, `torch.autograd`, `.grad`) allowed.
"""

import torch  # noqa: F401 (unused in the stubs until the TODOs are done)
import torch.nn.functional as F  # noqa: F401 (F.one_hot and F.softmax are handy)


def dlogprobs(logprobs, Yb, n):
    """dloss/dlogprobs, shape (n, vocab_size).

    loss = -logprobs[range(n), Yb].mean() picks one entry per row and averages n of them: only
    the picked entries matter, each with weight -1/n; every other entry gets exactly zero.

    Allowed: any forward variable, parameter or size (no gradient: this is the first).
    """
    raise NotImplementedError("TODO: dlogprobs")


def dprobs(probs, dlogprobs):
    """dloss/dprobs, shape (n, vocab_size).

    logprobs = probs.log(): the local derivative of log(x) is 1/x, times the upstream gradient.

    Allowed: any forward variable, parameter or size, and the gradient dlogprobs.
    """
    raise NotImplementedError("TODO: dprobs")


def dcounts_sum_inv(counts, dprobs):
    """dloss/dcounts_sum_inv, shape (n, 1).

    probs = counts * counts_sum_inv broadcasts the column counts_sum_inv (n, 1) across each row,
    so its gradient sums over the broadcast dimension (dim 1, keepdim=True).

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dprobs.
    """
    raise NotImplementedError("TODO: dcounts_sum_inv")


def dcounts_sum(counts_sum, dcounts_sum_inv):
    """dloss/dcounts_sum, shape (n, 1).

    counts_sum_inv = counts_sum**-1: the local derivative of x**-1 is -x**-2.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to
    dcounts_sum_inv.
    """
    raise NotImplementedError("TODO: dcounts_sum")


def dcounts(counts_sum_inv, dprobs, dcounts_sum):
    """dloss/dcounts, shape (n, vocab_size).

    Two branches meet here: counts feeds probs = counts * counts_sum_inv directly, and also
    counts_sum = counts.sum(1). Add both contributions; the sum's backward copies each row's
    dcounts_sum to every entry of that row.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to
    dcounts_sum.
    """
    raise NotImplementedError("TODO: dcounts")


def dnorm_logits(counts, dcounts):
    """dloss/dnorm_logits, shape (n, vocab_size).

    counts = norm_logits.exp(): the derivative of exp(x) is exp(x) itself, which is counts.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dcounts.
    """
    raise NotImplementedError("TODO: dnorm_logits")


def dlogit_maxes(dnorm_logits):
    """dloss/dlogit_maxes, shape (n, 1).

    norm_logits = logits - logit_maxes broadcasts the column (n, 1): sum over dim 1, with a minus
    sign. Subtracting the max does not change probs, so the result is (numerically) zero.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to
    dnorm_logits.
    """
    raise NotImplementedError("TODO: dlogit_maxes")


def dlogits(dnorm_logits, logits, dlogit_maxes):
    """dloss/dlogits, shape (n, vocab_size).

    Two branches meet here: logits feeds norm_logits directly, and also logit_maxes, where
    max routes each row's gradient to the position of that row's maximum (a one-hot row).

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to
    dlogit_maxes.
    """
    raise NotImplementedError("TODO: dlogits")


def dh(dlogits, W2):
    """dloss/dh, shape (n, n_hidden).

    logits = h @ W2 + b2: the gradient of a matrix product is another matrix product; let the
    shapes tell you which one ((n, vocab_size) with (n_hidden, vocab_size) must give (n, n_hidden)).

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dlogits.
    """
    raise NotImplementedError("TODO: dh")


def dW2(h, dlogits):
    """dloss/dW2, shape (n_hidden, vocab_size).

    logits = h @ W2 + b2 again; the matrix product that gives W2's shape sums over the batch.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dh.
    """
    raise NotImplementedError("TODO: dW2")


def db2(dlogits):
    """dloss/db2, shape (vocab_size,).

    b2 is broadcast over the n rows of logits, so its gradient sums over that dimension (dim 0).

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dW2.
    """
    raise NotImplementedError("TODO: db2")


def dhpreact(h, dh):
    """dloss/dhpreact, shape (n, n_hidden).

    h = tanh(hpreact): the derivative of tanh is 1 - tanh**2, and tanh(hpreact) is h.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to db2.
    """
    raise NotImplementedError("TODO: dhpreact")


def dbngain(bnraw, dhpreact):
    """dloss/dbngain, shape (1, n_hidden).

    hpreact = bngain * bnraw + bnbias: bngain (1, n_hidden) is broadcast over the batch, so sum
    over dim 0 and keep the dimension.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dhpreact.
    """
    raise NotImplementedError("TODO: dbngain")


def dbnbias(dhpreact):
    """dloss/dbnbias, shape (1, n_hidden).

    bnbias (1, n_hidden) is broadcast over the batch: sum over dim 0, keepdim=True.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbngain.
    """
    raise NotImplementedError("TODO: dbnbias")


def dbnraw(bngain, dhpreact):
    """dloss/dbnraw, shape (n, n_hidden).

    hpreact = bngain * bnraw + bnbias: an elementwise product (with bngain broadcast).

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbnbias.
    """
    raise NotImplementedError("TODO: dbnraw")


def dbnvar_inv(bndiff, dbnraw):
    """dloss/dbnvar_inv, shape (1, n_hidden).

    bnraw = bndiff * bnvar_inv broadcasts bnvar_inv (1, n_hidden) over the batch: sum over dim 0.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbnraw.
    """
    raise NotImplementedError("TODO: dbnvar_inv")


def dbnvar(bnvar, dbnvar_inv):
    """dloss/dbnvar, shape (1, n_hidden).

    bnvar_inv = (bnvar + 1e-5)**-0.5: the power rule (the epsilon 1e-5 is a constant).

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbnvar_inv.
    """
    raise NotImplementedError("TODO: dbnvar")


def dbndiff2(bndiff2, n, dbnvar):
    """dloss/dbndiff2, shape (n, n_hidden).

    bnvar = 1/(n-1) * bndiff2.sum(0, keepdim=True): the sum's backward spreads dbnvar over the
    batch, times the constant. Mind Bessel's correction: it is n-1, not n.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbnvar.
    """
    raise NotImplementedError("TODO: dbndiff2")


def dbndiff(bnvar_inv, dbnraw, bndiff, dbndiff2):
    """dloss/dbndiff, shape (n, n_hidden).

    Two branches meet here: bndiff feeds bnraw = bndiff * bnvar_inv and also bndiff2 = bndiff**2.
    Add both contributions.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbndiff2.
    """
    raise NotImplementedError("TODO: dbndiff")


def dbnmeani(dbndiff):
    """dloss/dbnmeani, shape (1, n_hidden).

    bndiff = hprebn - bnmeani broadcasts bnmeani (1, n_hidden) over the batch: sum over dim 0,
    with a minus sign.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbndiff.
    """
    raise NotImplementedError("TODO: dbnmeani")


def dhprebn(dbndiff, dbnmeani, n):
    """dloss/dhprebn, shape (n, n_hidden).

    Two branches meet here: hprebn feeds bndiff = hprebn - bnmeani directly, and also
    bnmeani = 1/n * hprebn.sum(0), whose backward spreads dbnmeani / n over the batch.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dbnmeani.
    """
    raise NotImplementedError("TODO: dhprebn")


def dembcat(dhprebn, W1):
    """dloss/dembcat, shape (n, block_size * n_embd).

    hprebn = embcat @ W1 + b1: a matrix product; match the shapes.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dhprebn.
    """
    raise NotImplementedError("TODO: dembcat")


def dW1(embcat, dhprebn):
    """dloss/dW1, shape (block_size * n_embd, n_hidden).

    hprebn = embcat @ W1 + b1: a matrix product that sums over the batch; match the shapes.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dembcat.
    """
    raise NotImplementedError("TODO: dW1")


def db1(dhprebn):
    """dloss/db1, shape (n_hidden,).

    b1 is broadcast over the batch: sum over dim 0. BatchNorm subtracts the batch mean right
    after, so this gradient is (numerically) zero, but write the real formula.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to dW1.
    """
    raise NotImplementedError("TODO: db1")


def demb(dembcat, emb):
    """dloss/demb, shape (n, block_size, n_embd).

    embcat = emb.view(n, -1) only rearranges the numbers: undo the view.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to db1.
    """
    raise NotImplementedError("TODO: demb")


def dC(C, Xb, demb):
    """dloss/dC, shape (vocab_size, n_embd).

    emb = C[Xb] copies row Xb[i, j] of C into emb[i, j]. A character that appears several times
    in the batch receives the sum of all its gradients, so accumulate: a loop over (i, j), or
    index_add_. Beware that dC[Xb] += demb does not accumulate repeated indices.

    Allowed: any forward variable, parameter or size, and the gradients dlogprobs to demb.
    """
    raise NotImplementedError("TODO: dC")
