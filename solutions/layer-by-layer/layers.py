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
    # BEGIN SOLUTION
    fan_in, fan_out = weight.shape
    dx = dout @ weight.T
    dweight = x.reshape(-1, fan_in).T @ dout.reshape(-1, fan_out)
    grads = {"dx": dx, "dweight": dweight}
    if bias is not None:
        grads["dbias"] = dout.reshape(-1, fan_out).sum(0)
    return grads
    # END SOLUTION


def batchnorm_backward(dout, gamma, xhat, xvar_inv):
    """Gradients of BatchNorm1d in training mode: dx, dgamma, dbeta (2-D or 3-D input)."""
    # BEGIN SOLUTION
    dims = tuple(range(dout.dim() - 1))
    n = dout.numel() // dout.shape[-1]
    dgamma = (dout * xhat).sum(dims)
    dbeta = dout.sum(dims)
    dxhat = dout * gamma
    dx = (xvar_inv / n) * (
        n * dxhat
        - dxhat.sum(dims, keepdim=True)
        - n / (n - 1) * xhat * (dxhat * xhat).sum(dims, keepdim=True)
    )
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    # END SOLUTION


def tanh_backward(dout, out):
    """Gradient of tanh: dx."""
    # BEGIN SOLUTION
    return {"dx": dout * (1 - out**2)}
    # END SOLUTION


def embedding_backward(dout, ix, weight):
    """Gradient of an Embedding table: dweight (rows used several times add up)."""
    # BEGIN SOLUTION
    dweight = torch.zeros_like(weight)
    dweight.index_add_(0, ix.reshape(-1), dout.reshape(-1, weight.shape[1]))
    return {"dweight": dweight}
    # END SOLUTION


def flatten_consecutive_backward(dout, x):
    """Gradient of FlattenConsecutive: dx (the forward is a view)."""
    # BEGIN SOLUTION
    return {"dx": dout.reshape(x.shape)}
    # END SOLUTION


def cross_entropy_backward(logits, targets):
    """Gradient of the mean cross-entropy loss: dlogits."""
    # BEGIN SOLUTION
    n = logits.shape[0]
    dlogits = F.softmax(logits, 1)
    dlogits[range(n), targets] -= 1
    return {"dlogits": dlogits / n}
    # END SOLUTION
