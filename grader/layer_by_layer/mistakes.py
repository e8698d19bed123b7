"""This assignment's known mistakes, for the hint rule `known_mistake`: each the wrong answer a
student would compute, in float64 from a case's own values.

Shape mistakes (a bias gradient not summed over the batch, a transposed weight, batchnorm's
dgamma summed over dim 0 only on 3-D input) are caught by the judge's shape message; the ones
here keep the shape: the lecture's 3-D batchnorm bug (statistics over dim 0 only), Bessel's n
for n-1, `dweight[ix] += dout` (repeated rows must add up), the flatten undone by interleaving
instead of a view, tanh's derivative taken at the input, the softmax without the one-hot, and
the public case's batch size written in for the cross-entropy's mean.
"""

from __future__ import annotations

import torch

from . import spec
from .cases import Case

BN_DIM0 = (
    "batchnorm on 3-D input: the statistics are over dims 0 and 1 (batch and time), so the sums "
    "run over both and n = B*T, not over dim 0 alone"
)
BESSEL = "Bessel's correction: the variance divides by n-1, not n"
REPEATED = (
    "repeated rows must add up: `dweight[ix] += dout` keeps only one of them; use index_add_ "
    "(a scatter-add) or a loop"
)
# The words name the mistake, never the answer's formula or code (the hints reach students).
FLATTEN = (
    "the flatten is a view: consecutive positions end up side by side in the last dimension "
    "without any number moving, so its gradient moves none either: no transpose or interleaving"
)
TANH = "tanh's derivative was taken at the input x: it is a function of tanh's output, not of x"
SOFTMAX = (
    "the softmax alone is not the gradient: the loss takes each row's log-probability of its "
    "target, which adds a term at the target's column"
)

# The public case's batch written in for the mean's own size: right on the public case, and a
# factor n/32 off on every hidden one, which the factor rule called "a missing factor 2 (the
# power rule)" at n = 16 and "a constant factor of about 3.125" at n = 100.
HARD_CODED_BATCH = (
    "a hard-coded batch size ({size}, the public case's?): the mean divides by this batch's own "
    "number of rows; take it from the shapes of your inputs"
)
# At half or twice the public batch the factor n/32 is 1/2 or 2, which a factor 2 missing or
# applied twice (`/ (2 * n)`) leaves as well: one case cannot tell the two apart, and `/ (2*n)`
# was told "a hard-coded batch size (32)" at n = 16 (and "a factor 1/2" on every other case).
# The public case tells them apart (a hard-coded 32 passes it), so the words say how.
HALF_OR_DOUBLE = (
    "off by a factor {factor:g}: if your public case passes, {hard_coded}; if it fails too, a "
    "factor 2 missing or applied twice"
)


def known_mistakes(case: Case) -> dict[str, dict[str, torch.Tensor]]:
    """{gradient: {label: wrong answer}} for this case; computed once per case and kept."""
    if case.id not in _CACHE:
        _CACHE[case.id] = _known(case)
    return _CACHE[case.id]


_CACHE: dict[str, dict[str, dict[str, torch.Tensor]]] = {}


def _known(case: Case) -> dict[str, dict[str, torch.Tensor]]:
    v = {k: (t.double() if torch.is_tensor(t) and t.is_floating_point() else t)
         for k, t in case.inputs.items()}  # fmt: skip
    if case.kind == "batchnorm":
        dxhat = v["dout"] * v["gamma"]
        dims = tuple(range(dxhat.dim() - 1))
        wrong = {BESSEL: _bn_dx(dxhat, v["xhat"], v["xvar_inv"], dims, bessel=False)}
        if dxhat.dim() == 3:
            wrong[BN_DIM0] = _bn_dx(dxhat, v["xhat"], v["xvar_inv"], (0,), bessel=True)
        return {"dx": wrong}
    if case.kind == "embedding":
        dweight = torch.zeros_like(v["weight"])
        dweight[case.inputs["ix"]] += v["dout"]
        return {"dweight": {REPEATED: dweight}}
    if case.kind == "flatten_consecutive":
        x, n = v["x"], v["n"]
        B, T, C = x.shape
        interleaved = v["dout"].reshape(B, T // n, C, n).transpose(-1, -2).reshape(B, T, C)
        return {"dx": {FLATTEN: interleaved}}
    if case.kind == "tanh":
        return {"dx": {TANH: v["dout"] * (1 - v["x"] ** 2)}}
    if case.kind == "cross_entropy":
        n = v["logits"].shape[0]
        wrong = {SOFTMAX: torch.softmax(v["logits"], 1) / n}
        public = spec.PUBLIC[case.item][0]["batch"][0]
        if n != public:
            words = HARD_CODED_BATCH.format(size=public)
            if n / public in (0.5, 2.0):
                words = HALF_OR_DOUBLE.format(factor=n / public, hard_coded=words)
            wrong[words] = case.truth["dlogits"].double() * n / public
        return {"dlogits": wrong}
    return {}


def _bn_dx(dxhat, xhat, xvar_inv, dims, bessel: bool) -> torch.Tensor:
    """Batchnorm's fused dx with the sums over `dims` (and n their size)."""
    n = 1
    for d in dims:
        n *= dxhat.shape[d]
    c = n / (n - 1) if bessel else 1.0
    sum_dxhat = dxhat.sum(dims, keepdim=True)
    sum_dxhat_xhat = (dxhat * xhat).sum(dims, keepdim=True)
    return xvar_inv / n * (n * dxhat - sum_dxhat - c * xhat * sum_dxhat_xhat)
