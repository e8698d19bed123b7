"""The contract in code: each item's function, the arguments it may declare, what it returns.

CONTRACT.md is the same in prose. An item is one module's backward judged on one kind of case;
`linear` and `linear_nobias` call the same function (`bias` is None for the second), and so do
`batchnorm_2d` and `batchnorm_3d` (the WaveNet's 3-D input, statistics over dims 0 and 1).
PUBLIC holds the public cases (the student's check.py runs them); the hidden ones are elsewhere.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from ..student_text import did_you_mean

FILE = "layers"


@dataclass(frozen=True)
class Item:
    name: str  # the item id is f"{FILE}.{name}"
    function: str
    kind: str  # the module: which forward builds the cases (model.make_case)
    allowed: frozenset[str]  # the arguments the function may declare
    grads: tuple[str, ...]  # the keys of the dict it returns, in order


_LINEAR = frozenset({"dout", "x", "weight", "bias", "out"})
_BATCHNORM = frozenset({"dout", "x", "gamma", "beta", "xmean", "xvar", "xvar_inv", "xhat", "out"})

ITEMS = (
    Item("linear", "linear_backward", "linear", _LINEAR, ("dx", "dweight", "dbias")),
    Item("linear_nobias", "linear_backward", "linear", _LINEAR, ("dx", "dweight")),
    Item("batchnorm_2d", "batchnorm_backward", "batchnorm", _BATCHNORM, ("dx", "dgamma", "dbeta")),
    Item("batchnorm_3d", "batchnorm_backward", "batchnorm", _BATCHNORM, ("dx", "dgamma", "dbeta")),
    Item("tanh", "tanh_backward", "tanh", frozenset({"dout", "x", "out"}), ("dx",)),
    Item(
        "embedding", "embedding_backward", "embedding", frozenset({"dout", "ix", "weight"}),
        ("dweight",),
    ),
    Item(
        "flatten_consecutive", "flatten_consecutive_backward", "flatten_consecutive",
        frozenset({"dout", "x", "n", "out"}), ("dx",),
    ),
    Item(
        "cross_entropy", "cross_entropy_backward", "cross_entropy",
        frozenset({"logits", "targets", "loss"}), ("dlogits",),
    ),
)  # fmt: skip
BY_NAME = {i.name: i for i in ITEMS}
FUNCTIONS = tuple(dict.fromkeys(i.function for i in ITEMS))

# The public cases, makemore part 5's sizes: batch 32, block 8 flattened 2 by 2, n_embd 10,
# n_hidden 68. Each config is one case of the item's module. The batchnorm inputs are shrunk
# (`scale`), as the hidden ones are, so that a dropped or misplaced epsilon fails here too.
PUBLIC: dict[str, tuple[dict, ...]] = {
    "linear": (dict(batch=(32, 4), fan_in=20, fan_out=68, bias=True, seed=11),),
    "linear_nobias": (dict(batch=(32, 4), fan_in=20, fan_out=68, bias=False, seed=12),),
    "batchnorm_2d": (dict(batch=(32,), channels=68, scale=0.02, seed=13),),
    "batchnorm_3d": (dict(batch=(32, 4), channels=68, scale=0.02, seed=14),),
    "tanh": (dict(batch=(32, 4), channels=68, seed=15),),
    "embedding": (dict(batch=(32, 8), vocab_size=27, n_embd=10, seed=16),),
    "flatten_consecutive": (dict(batch=(32, 8), channels=10, n=2, seed=17),),
    "cross_entropy": (dict(batch=(32,), vocab_size=27, seed=18),),
}


def reduced(kind: str, cfg: dict) -> int:
    """The n a mistake's factor is measured in: the rows a gradient sums (batchnorm: B*T)."""
    rows = 1
    for d in cfg.get("batch", ()):
        rows *= d
    return cfg["batch"][0] if kind == "cross_entropy" else rows


def _keys(value: dict, limit: int = 6) -> str:
    """The keys a student's dict has, quoted and cut short: "has no dx (keys: dx)" listed the
    keys it must have, read as the ones it had (it had `dout`)."""
    keys = [repr(k)[:40] for k in list(value)[:limit]]
    more = f" and {len(value) - limit} more" if len(value) > limit else ""
    return (", ".join(keys) + more) if keys else "none"


# A dict's keys weighed for "did you mean"; more are not looked at.
_KEYS_WEIGHED = 100


def _meant(missing: list[str], value: dict, grads: tuple[str, ...]) -> str:
    """ "did you mean" for the keys that are a missing gradient misnamed: misspelt or cased
    (`dweigth`, `d_weight`, `dWeight`), the variable without its `d` (`weight`), or its initial
    as Backprop Ninja's names have it (`dW` and `db`, after its `dW1` and `db1`): the message
    listed the keys, and `dW` got no hint where `dweigth` would have. Each key is meant once."""
    others = [
        k for k in itertools.islice(value, _KEYS_WEIGHED) if isinstance(k, str) and k not in grads
    ]
    meant = []
    for grad in missing:
        close = did_you_mean(grad, set(others), frozenset(grads)).removeprefix("did you mean ")
        key = close.strip("`?") or next(
            (k for k in others if k in (grad[1:], "d" + grad[1], "d" + grad[1].upper())), ""
        )
        if key:
            others.remove(key)
            meant.append(f"`{grad}` for `{key}`")
    if not meant:
        return ""
    pairs = ", ".join(meant[:-1]) + " and " + meant[-1] if len(meant) > 1 else meant[0]
    return f": did you mean {pairs}?"


def split(value: object, grads: tuple[str, ...]) -> dict[str, object] | str:
    """The returned value as {gradient: value}, or why it cannot be read that way.

    A dict with the gradient names as keys; a function with one gradient may return the tensor.
    `value` is as the grader receives it: a tensor is (tensor, dtype name), anything else that
    is no container carries its `type_name`. The grader and the public check both use this.
    """
    if isinstance(value, dict):
        missing = [g for g in grads if g not in value]
        if missing:
            return (
                f"the returned dict has no {', '.join(missing)}: its keys are "
                f"{_keys(value)}, and it must have {', '.join(grads)}"
                + _meant(missing, value, grads)
            )
        return {g: value[g] for g in grads}
    if len(grads) == 1 and isinstance(value, tuple) and len(value) == 2:
        return {grads[0]: value}  # a bare tensor, as (tensor, dtype name)
    kind = getattr(value, "type_name", None)
    kind = kind if isinstance(kind, str) else type(value).__name__
    kind = "None" if value is None else kind
    if isinstance(value, list):  # a tuple travels as a list: the student may have written either
        kind = "a list or tuple"
    return f"returned {kind}; expected a dict with the keys {', '.join(grads)}"
