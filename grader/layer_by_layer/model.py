"""The modules of makemore part 5 as plain functions, and how one module's case is built.

Each forward is the lecture's module written as a function of tensors: `linear` (with or without
bias, on 2-D or 3-D input), `batchnorm` in training mode (statistics over every dimension but the
last: dim 0 on 2-D input, dims 0 and 1 on the WaveNet's 3-D input; Bessel-corrected variance),
`tanh`, `embedding`, `flatten_consecutive` and `cross_entropy`. `make_case` builds one seeded case
of one module: the inputs a student's backward receives (float32) and autograd's float64 truth.
The grader, the graded training run and the student bundle's check.py all use this file, so it
holds nothing hidden.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import seeding

BN_EPS = 1e-5


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    out = x @ weight
    return out + bias if bias is not None else out


def batchnorm(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> dict:
    """BatchNorm1d in training mode; returns every value the layer computes, `out` last."""
    dim = tuple(range(x.dim() - 1))  # (0,) on (B, C); (0, 1) on (B, T, C)
    xmean = x.mean(dim, keepdim=True)
    xvar = x.var(dim, keepdim=True)  # unbiased: Bessel's n-1, as torch.var and the lecture
    xvar_inv = (xvar + BN_EPS) ** -0.5
    xhat = (x - xmean) * xvar_inv
    out = gamma * xhat + beta
    return {"xmean": xmean, "xvar": xvar, "xvar_inv": xvar_inv, "xhat": xhat, "out": out}


def tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


def embedding(ix: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return weight[ix]


def flatten_consecutive(x: torch.Tensor, n: int) -> torch.Tensor:
    """(B, T, C) -> (B, T//n, C*n): n consecutive positions side by side; (B, C*n) if T == n."""
    B, T, C = x.shape
    out = x.view(B, T // n, C * n)
    return out.squeeze(1) if out.shape[1] == 1 else out


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, targets)


def _forward(kind: str, t: dict) -> dict:
    """One module's forward on the tensors in `t`: {"out": ...} plus what the module keeps."""
    if kind == "linear":
        return {"out": linear(t["x"], t["weight"], t.get("bias"))}
    if kind == "batchnorm":
        return batchnorm(t["x"], t["gamma"], t["beta"])
    if kind == "tanh":
        return {"out": tanh(t["x"])}
    if kind == "embedding":
        return {"out": embedding(t["ix"], t["weight"])}
    if kind == "flatten_consecutive":
        return {"out": flatten_consecutive(t["x"], t["n"])}
    if kind == "cross_entropy":
        return {"out": cross_entropy(t["logits"], t["targets"])}
    raise ValueError(f"unknown module {kind!r}")


def _leaves(kind: str, cfg: dict, g: torch.Generator) -> dict:
    """The module's seeded inputs and parameters (float32, integers where they are indices)."""

    def randn(*shape: int, scale: float = 1.0) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    batch = tuple(cfg.get("batch", ()))
    if kind == "linear":
        fan_in, fan_out = cfg["fan_in"], cfg["fan_out"]
        t = {"x": randn(*batch, fan_in), "weight": randn(fan_in, fan_out, scale=fan_in**-0.5)}
        t["bias"] = randn(fan_out, scale=0.1) if cfg["bias"] else None
        return t
    if kind == "batchnorm":
        C = cfg["channels"]
        # Off-centre, unevenly scaled input; gamma near 1 and beta non-zero, so zeros hide nothing.
        # `scale` shrinks the whole input (float32's relative precision is unchanged): with a
        # variance near 1e-5 the epsilon counts, so a dropped or misplaced one shows.
        x = randn(*batch, C) * (0.5 + torch.rand(C, generator=g) * 2) + randn(C)
        x = x * cfg.get("scale", 1.0)
        return {"x": x, "gamma": 1 + randn(C, scale=0.1), "beta": randn(C, scale=0.1)}
    if kind == "tanh":
        return {"x": randn(*batch, cfg["channels"])}
    if kind == "embedding":
        V = cfg["vocab_size"]
        # Few rows for many positions: rows repeat, so the gradient must add them up. The last
        # `unused_rows` rows are never indexed: the gradient still has all V rows (zeros there).
        ix = torch.randint(0, V - cfg.get("unused_rows", 0), batch, generator=g)
        return {"ix": ix, "weight": randn(V, cfg["n_embd"])}
    if kind == "flatten_consecutive":
        return {"x": randn(*batch, cfg["channels"]), "n": cfg["n"]}
    if kind == "cross_entropy":
        (B,) = batch
        V = cfg["vocab_size"]
        logits = randn(B, V, scale=2.0)
        # The last `unused_classes` classes are never a target: dlogits still has all V columns.
        targets = torch.randint(0, V - cfg.get("unused_classes", 0), (B,), generator=g)
        return {"logits": logits, "targets": targets}
    raise ValueError(f"unknown module {kind!r}")


def make_case(kind: str, cfg: dict) -> tuple[dict, dict]:
    """(inputs, truth): what the student's backward may receive, and autograd's gradients.

    The upstream gradient `dout` is random (a loss's gradient for cross_entropy, which ends the
    network). The truth is autograd in float64 from the very float32 values the student gets.
    """
    g = seeding.generator(cfg["seed"])  # torch's manual_seed, or a hidden case's whole secret
    leaves = _leaves(kind, cfg, g)
    with torch.no_grad():
        inputs = {**leaves, **_forward(kind, leaves)}
    if kind != "cross_entropy":
        inputs["dout"] = torch.randn(inputs["out"].shape, generator=g)
    inputs["loss"] = inputs["out"] if kind == "cross_entropy" else None
    return {k: v for k, v in inputs.items() if v is not None or k == "bias"}, autograd(
        kind, leaves, inputs.get("dout")
    )


def autograd(kind: str, leaves: dict, dout: torch.Tensor | None) -> dict[str, torch.Tensor]:
    """d<name> for every floating-point leaf, by autograd in float64."""
    wrt = {
        k: v.double().requires_grad_()
        for k, v in leaves.items()
        if isinstance(v, torch.Tensor) and v.is_floating_point()
    }
    out = _forward(kind, {**leaves, **wrt})["out"]
    loss = out if dout is None else (out * dout.double()).sum()
    grads = torch.autograd.grad(loss, list(wrt.values()))
    return {"d" + k: gr.detach() for k, gr in zip(wrt, grads, strict=True)}
