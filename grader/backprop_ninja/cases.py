"""The cases every gradient is judged on: seeded inputs and autograd's float64 truth, built once.

A case is one configuration of the model (sizes, batch, seed) run forward in the inputs' dtype;
its truth is autograd's gradient of the same numbers in float64. The public case is the lecture's
configuration and one at other sizes (both in the student bundle); the hidden ones live in
`hidden.py`, which the student bundle never contains.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from .. import seeding
from ..judge import largest_magnitude
from . import model
from .model import Config

# The lecture's configuration, and one where every size differs from it (and n_embd *
# block_size from n, so no matrix is square): a hard-coded 32, 27 or 64 fails on the student's
# own machine, with the hint that says so, not only on the hidden cases. Every case has a quiet
# unit (model.Config): without one, a dropped BatchNorm epsilon is off by about 1.5e-5 of the
# scale, and passes some cases and fails others by chance.
PUBLIC = (
    Config(quiet_unit=True),
    Config(vocab_size=15, block_size=4, n_embd=5, n_hidden=24, n=22, seed=7, quiet_unit=True),
)

# Zero-mean gradients (mathematically zero) take their scale from the gradient they sum.
SCALE_FROM = {"dlogit_maxes": "dnorm_logits", "db1": "dhprebn"}


@dataclass
class Case:
    """One seeded configuration: inputs as students get them, truth as autograd gives it."""

    cfg: Config
    public: bool
    params: dict[str, torch.Tensor]
    Xb: torch.Tensor
    Yb: torch.Tensor
    atomic: dict[str, torch.Tensor] = field(default_factory=dict)
    atomic_grads: dict[str, torch.Tensor] = field(default_factory=dict)
    compact: dict[str, torch.Tensor] = field(default_factory=dict)
    compact_grads: dict[str, torch.Tensor] = field(default_factory=dict)

    @functools.cached_property
    def id(self) -> str:
        """The case's label in results. Asked for every answer judged on the case (~260 times a
        submission, a hash of a hidden case's secret each time): worked out once; `cfg` is
        frozen and `public` is never set again."""
        c = self.cfg
        kind = "public" if self.public else "hidden"
        # Every case has a quiet unit (PUBLIC's comment): only one without says so.
        loud = "" if c.quiet_unit else "-no_quiet_unit"
        return (
            f"{kind}-n{c.n}-v{c.vocab_size}-b{c.block_size}-e{c.n_embd}-h{c.n_hidden}"
            f"-s{seeding.label(c.seed)}-{c.dtype}{loud}"
        )

    @property
    def n(self) -> int:
        return self.cfg.n

    @property
    def dtype(self) -> torch.dtype:
        return self.cfg.torch_dtype

    def meta(self) -> dict:
        """What each of its case results says about the case (a fresh dict for every result)."""
        return {**self._meta, "config": dict(self._meta["config"])}

    @functools.cached_property
    def _meta(self) -> dict:
        # Asked for every function judged on the case: dataclasses.asdict is slow enough to show.
        # A hidden case's secret stays in hidden.py: results name it by its label alone.
        seed = seeding.shown(self.cfg.seed)
        config = {**self.cfg.as_dict(), "seed": seed}
        return {"case": self.id, "seed": seed, "public": self.public, "config": config}

    def data(self) -> dict:
        """What every function may see: the batch, n and the sizes."""
        return {"Xb": self.Xb, "Yb": self.Yb, "n": self.n, **self.cfg.sizes()}

    @functools.cached_property
    def atomic_inputs(self) -> dict:
        """Exercises 1 and 2: the atomic forward's values and autograd's gradients (inputs' dtype).

        The session sends a function only the names it may use, so holding them all here is safe.
        """
        grads = {k: g.to(self.dtype) for k, g in self.atomic_grads.items()}
        return {**self.data(), **self.params, **self.atomic, **grads}

    @functools.cached_property
    def compact_inputs(self) -> dict:
        return {**self.data(), **self.params, **self.compact}

    def scale_floor(self, grad: str, grads: dict[str, torch.Tensor]) -> float:
        """The scale a zero-mean gradient is judged on: the largest magnitude of the gradient it
        sums, taken once per process (judge.largest_magnitude), not at every submission."""
        ref = SCALE_FROM.get(grad)
        return largest_magnitude(grads[ref]) if ref else 0.0


def build_case(cfg: Config, public: bool) -> Case:
    g = seeding.generator(cfg.seed)  # torch's manual_seed, or a hidden case's whole secret
    params = model.init_params(cfg, g)
    Xb, Yb = model.random_batch(cfg, g)
    if cfg.quiet_unit:
        model.quieten(params, Xb)
    with torch.no_grad():
        atomic = model.atomic_forward(params, Xb, Yb)
        compact = model.compact_forward(params, Xb, Yb)
    return Case(
        cfg=cfg,
        public=public,
        params=params,
        Xb=Xb,
        Yb=Yb,
        atomic=atomic,
        atomic_grads=model.autograd_grads(model.atomic_forward, params, Xb, Yb),
        compact=compact,
        compact_grads=model.autograd_grads(model.compact_forward, params, Xb, Yb),
    )


@functools.lru_cache(maxsize=2)
def cases(public_only: bool = False) -> tuple[Case, ...]:
    """The public case, then the hidden ones: computed once per process, reused for everyone."""
    public = tuple(build_case(cfg, True) for cfg in PUBLIC)
    if public_only:
        return public
    from .hidden import HIDDEN

    return public + tuple(build_case(cfg, False) for cfg in HIDDEN)
