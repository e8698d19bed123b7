# Your file: replace every `raise NotImplementedError(...)` with your code, then run
# `python check.py`. (Course staff: generated from the solutions by
# `make stubs ASSIGNMENT=layer-by-layer`.)
"""Backprop Ninja, layer by layer: a backward pass for each module of makemore part 5.

Each function receives, by name, the arguments it declares (see CONTRACT.md for what each may
declare): the gradient of the loss with respect to the module's output, `dout`, and whatever the
module computed in its forward pass. It returns a dict of gradients, one per input or parameter:
`dx` for the input, `dweight`, `dbias`, `dgamma`, `dbeta` for the parameters. No autograd: every
gradient is written by hand. The forward passes, for reference (the lecture's classes):

    Linear:              out = x @ weight + bias          (bias may be None; x is 2-D or 3-D)
    BatchNorm1d (train): dims = (0,) on (B, C), (0, 1) on (B, T, C)
                         xmean = x.mean(dims, keepdim=True); xvar = x.var(dims, keepdim=True)
                         xvar_inv = (xvar + 1e-5)**-0.5; xhat = (x - xmean) * xvar_inv
                         out = gamma * xhat + beta
    Tanh:                out = torch.tanh(x)
    Embedding:           out = weight[ix]
    FlattenConsecutive:  out = x.view(B, T//n, C*n), squeezed to (B, C*n) when T == n
    cross-entropy:       loss = F.cross_entropy(logits, targets)
"""

import torch
import torch.nn.functional as F


def linear_backward(dout, x, weight, bias):
    """Gradients of a Linear layer: dx, dweight and, when the layer has a bias, dbias."""
    raise NotImplementedError("TODO: linear_backward")


def batchnorm_backward(dout, gamma, xhat, xvar_inv):
    """Gradients of BatchNorm1d in training mode: dx, dgamma, dbeta (2-D or 3-D input)."""
    raise NotImplementedError("TODO: batchnorm_backward")


def tanh_backward(dout, out):
    """Gradient of tanh: dx."""
    raise NotImplementedError("TODO: tanh_backward")


def embedding_backward(dout, ix, weight):
    """Gradient of an Embedding table: dweight (rows used several times add up)."""
    raise NotImplementedError("TODO: embedding_backward")


def flatten_consecutive_backward(dout, x):
    """Gradient of FlattenConsecutive: dx (the forward is a view)."""
    raise NotImplementedError("TODO: flatten_consecutive_backward")


def cross_entropy_backward(logits, targets):
    """Gradient of the mean cross-entropy loss: dlogits."""
    raise NotImplementedError("TODO: cross_entropy_backward")
