"""The cases every module's backward is judged on, built once per process and shared.

A case is one seeded configuration of one module (model.make_case): the float32 inputs the
student's function receives, and autograd's float64 truth. The public cases are spec.PUBLIC; the
hidden ones live in hidden.py, which the student bundle never contains.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from .. import seeding
from . import model, spec


@dataclass
class Case:
    item: str
    cfg: dict
    public: bool
    inputs: dict
    truth: dict[str, torch.Tensor]

    @property
    def kind(self) -> str:
        return spec.BY_NAME[self.item].kind

    @property
    def id(self) -> str:
        shape = "x".join(str(d) for d in self.cfg.get("batch", ()))
        kind = "public" if self.public else "hidden"
        return f"{kind}-{self.item}-{shape}-s{seeding.label(self.cfg['seed'])}"

    @property
    def n(self) -> int:
        return spec.reduced(self.kind, self.cfg)

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def meta(self) -> dict:
        # A hidden case's secret stays in hidden.py: results name it by its label alone.
        seed = seeding.shown(self.cfg["seed"])
        config = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.cfg.items()}
        config["seed"] = seed
        return {"case": self.id, "seed": seed, "public": self.public, "config": config}


def build_case(item: str, cfg: dict, public: bool) -> Case:
    inputs, truth = model.make_case(spec.BY_NAME[item].kind, cfg)
    return Case(item, cfg, public, inputs, truth)


@functools.lru_cache(maxsize=2)
def cases(public_only: bool = False) -> dict[str, tuple[Case, ...]]:
    """Each item's cases, the public ones first: computed once, reused for every submission."""
    out = {}
    for item in spec.ITEMS:
        public = tuple(build_case(item.name, c, True) for c in spec.PUBLIC[item.name])
        if public_only:
            out[item.name] = public
            continue
        from .hidden import HIDDEN

        out[item.name] = public + tuple(build_case(item.name, c, False) for c in HIDDEN[item.name])
    return out
