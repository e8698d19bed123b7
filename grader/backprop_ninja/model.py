"""The lecture's model: configuration, seeded parameters, the two forward passes, autograd's truth.

Everything here is the SPEC's "model" section turned into code. The grader uses it to build
cases, the training demo uses it to train, and the public check uses it on a student's machine,
so it must stay free of anything hidden (no hidden seeds, no reference values).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

BN_EPS = 1e-5

# The parameters, in the order of the lecture's `parameters` list and exercise 3's `grads`.
PARAMS = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")

# The atomic forward's variables, in the order they are computed.
ATOMIC_VARS = (
    "emb",
    "embcat",
    "hprebn",
    "bnmeani",
    "bndiff",
    "bndiff2",
    "bnvar",
    "bnvar_inv",
    "bnraw",
    "hpreact",
    "h",
    "logits",
    "logit_maxes",
    "norm_logits",
    "counts",
    "counts_sum",
    "counts_sum_inv",
    "probs",
    "logprobs",
    "loss",
)

# The compact forward's variables (exercise 3).
COMPACT_VARS = (
    "emb",
    "embcat",
    "hprebn",
    "bnmean",
    "bnvar",
    "bnvar_inv",
    "bnraw",
    "hpreact",
    "h",
    "logits",
    "loss",
)

SIZES = ("vocab_size", "block_size", "n_embd", "n_hidden", "batch_size")


@dataclass(frozen=True)
class Config:
    """One configuration of the model: sizes, batch, seed and dtype (the lecture's by default)."""

    vocab_size: int = 27
    block_size: int = 3
    n_embd: int = 10
    n_hidden: int = 64
    n: int = 32
    seed: int = 42
    dtype: str = "float32"
    # One hidden unit nearly silent, as in a trained net, so that BatchNorm's epsilon shows: see
    # quieten. Applied by the case that draws the batch (cases.build_case).
    quiet_unit: bool = False

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)

    def sizes(self) -> dict[str, int]:
        """The lecture's size names, as a student function may declare them."""
        return {
            "vocab_size": self.vocab_size,
            "block_size": self.block_size,
            "n_embd": self.n_embd,
            "n_hidden": self.n_hidden,
            "batch_size": self.n,
        }

    def as_dict(self) -> dict:
        return asdict(self)


def init_params(cfg: Config, g: torch.Generator) -> dict[str, torch.Tensor]:
    """The lecture's initialisation: small non-zero biases, bngain near 1: zeros hide nothing."""
    fan_in = cfg.n_embd * cfg.block_size
    dt = cfg.torch_dtype
    params = {
        "C": torch.randn((cfg.vocab_size, cfg.n_embd), generator=g, dtype=dt),
        "W1": torch.randn((fan_in, cfg.n_hidden), generator=g, dtype=dt) * (5 / 3) / fan_in**0.5,
        "b1": torch.randn(cfg.n_hidden, generator=g, dtype=dt) * 0.1,
        "W2": torch.randn((cfg.n_hidden, cfg.vocab_size), generator=g, dtype=dt) * 0.1,
        "b2": torch.randn(cfg.vocab_size, generator=g, dtype=dt) * 0.1,
        "bngain": torch.randn((1, cfg.n_hidden), generator=g, dtype=dt) * 0.1 + 1.0,
        "bnbias": torch.randn((1, cfg.n_hidden), generator=g, dtype=dt) * 0.1,
    }
    return params


QUIET_VARIANCE = 1 / 400  # the quiet unit's batch variance, against the other units' median


def quieten(params: dict[str, torch.Tensor], Xb: torch.Tensor) -> None:
    """Make the last hidden unit nearly silent on this batch: its input weights and bias are
    scaled so that its batch variance is QUIET_VARIANCE of the other units' median, whatever
    the batch's size (a fixed factor left it far less quiet on a small batch, where a dropped
    epsilon came near the tolerance). Its gain is a fifth of theirs, so that its 1/std does not
    swamp every gradient below it."""
    embcat = params["C"][Xb].view(Xb.shape[0], -1)
    var = (embcat @ params["W1"] + params["b1"]).var(0)
    factor = (QUIET_VARIANCE * var[:-1].median() / var[-1]).sqrt()
    params["W1"][:, -1] *= factor
    params["b1"][-1] *= factor
    params["bngain"][0, -1] *= 0.2


def random_batch(cfg: Config, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded batch of contexts Xb (n, block_size) and targets Yb (n,), both int64."""
    Xb = torch.randint(0, cfg.vocab_size, (cfg.n, cfg.block_size), generator=g)
    Yb = torch.randint(0, cfg.vocab_size, (cfg.n,), generator=g)
    return Xb, Yb


def atomic_forward(p: dict[str, torch.Tensor], Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The lecture's forward pass chunked into steps (exercises 1 and 2); returns every variable."""
    n = Xb.shape[0]
    v: dict[str, torch.Tensor] = {}
    v["emb"] = p["C"][Xb]
    v["embcat"] = v["emb"].view(v["emb"].shape[0], -1)
    v["hprebn"] = v["embcat"] @ p["W1"] + p["b1"]
    v["bnmeani"] = 1 / n * v["hprebn"].sum(0, keepdim=True)
    v["bndiff"] = v["hprebn"] - v["bnmeani"]
    v["bndiff2"] = v["bndiff"] ** 2
    v["bnvar"] = 1 / (n - 1) * v["bndiff2"].sum(0, keepdim=True)
    v["bnvar_inv"] = (v["bnvar"] + BN_EPS) ** -0.5
    v["bnraw"] = v["bndiff"] * v["bnvar_inv"]
    v["hpreact"] = p["bngain"] * v["bnraw"] + p["bnbias"]
    v["h"] = torch.tanh(v["hpreact"])
    v["logits"] = v["h"] @ p["W2"] + p["b2"]
    v["logit_maxes"] = v["logits"].max(1, keepdim=True).values
    v["norm_logits"] = v["logits"] - v["logit_maxes"]
    v["counts"] = v["norm_logits"].exp()
    v["counts_sum"] = v["counts"].sum(1, keepdim=True)
    v["counts_sum_inv"] = v["counts_sum"] ** -1
    v["probs"] = v["counts"] * v["counts_sum_inv"]
    v["logprobs"] = v["probs"].log()
    v["loss"] = -v["logprobs"][range(n), Yb].mean()
    return v


def compact_forward(p: dict[str, torch.Tensor], Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The compact forward of the lecture's last exercise (exercise 3); returns every variable."""
    v: dict[str, torch.Tensor] = {}
    v["emb"] = p["C"][Xb]
    v["embcat"] = v["emb"].view(v["emb"].shape[0], -1)
    v["hprebn"] = v["embcat"] @ p["W1"] + p["b1"]
    v["bnmean"] = v["hprebn"].mean(0, keepdim=True)
    v["bnvar"] = v["hprebn"].var(0, keepdim=True, unbiased=True)
    v["bnvar_inv"] = (v["bnvar"] + BN_EPS) ** -0.5
    v["bnraw"] = (v["hprebn"] - v["bnmean"]) * v["bnvar_inv"]
    v["hpreact"] = p["bngain"] * v["bnraw"] + p["bnbias"]
    v["h"] = torch.tanh(v["hpreact"])
    v["logits"] = v["h"] @ p["W2"] + p["b2"]
    v["loss"] = F.cross_entropy(v["logits"], Yb)
    return v


def autograd_grads(
    forward, p: dict[str, torch.Tensor], Xb: torch.Tensor, Yb: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Autograd's gradient of the loss for every parameter and every forward variable.

    Runs in float64 from the given values so that the truth carries no float32 rounding: a
    student's float32 answer is then judged against the exact gradient of the same numbers.
    """
    p64 = {k: t.detach().double().requires_grad_() for k, t in p.items()}
    v = forward(p64, Xb, Yb)
    for t in v.values():
        t.retain_grad()
    v["loss"].backward()
    grads = {"d" + k: t.grad.detach() for k, t in v.items() if k != "loss"}
    grads.update({"d" + k: t.grad.detach() for k, t in p64.items()})
    return grads
