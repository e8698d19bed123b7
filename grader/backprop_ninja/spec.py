"""Each student function's name and the arguments it may declare (SPEC: "What a student writes").

The grader checks a declared signature against these sets before it sends anything, so a
function never sees a value it is not allowed to use: above all, never a gradient that comes at
or after its own place in the lecture's order.
"""

from __future__ import annotations

from .model import ATOMIC_VARS, COMPACT_VARS, PARAMS, SIZES

DATA = ("Xb", "Yb", "n")

# Exercise 1, in the order of the lecture's checks.
EXERCISE1 = (
    "dlogprobs",
    "dprobs",
    "dcounts_sum_inv",
    "dcounts_sum",
    "dcounts",
    "dnorm_logits",
    "dlogit_maxes",
    "dlogits",
    "dh",
    "dW2",
    "db2",
    "dhpreact",
    "dbngain",
    "dbnbias",
    "dbnraw",
    "dbnvar_inv",
    "dbnvar",
    "dbndiff2",
    "dbndiff",
    "dbnmeani",
    "dhprebn",
    "dembcat",
    "dW1",
    "db1",
    "demb",
    "dC",
)

EXERCISE2 = ("dlogits", "dhprebn")

# Exercise 3's backward returns these, as a dict or in this order.
EXERCISE3_GRADS = tuple("d" + p for p in PARAMS)

_FORWARD1 = DATA + PARAMS + ATOMIC_VARS + SIZES

_CROSS_ENTROPY_FORWARD = (
    "logits",
    "Yb",
    "logit_maxes",
    "norm_logits",
    "counts",
    "counts_sum",
    "counts_sum_inv",
    "probs",
    "logprobs",
    "loss",
)
_BATCHNORM_FORWARD = (
    "dhpreact",
    "hprebn",
    "bnmeani",
    "bndiff",
    "bndiff2",
    "bnvar",
    "bnvar_inv",
    "bnraw",
    "hpreact",
    "bngain",
    "bnbias",
)


def allowed_exercise1(name: str) -> frozenset[str]:
    """Every forward variable, parameter and size, plus every gradient before `name`."""
    earlier = EXERCISE1[: EXERCISE1.index(name)]
    return frozenset(_FORWARD1 + earlier)


def allowed_exercise2(name: str) -> frozenset[str]:
    """A fused layer's own forward values only: no intermediate gradient but dhpreact."""
    own = _CROSS_ENTROPY_FORWARD if name == "dlogits" else _BATCHNORM_FORWARD
    return frozenset(own + ("n",) + SIZES)


ALLOWED_EXERCISE3 = frozenset(DATA + PARAMS + COMPACT_VARS + SIZES)


# The gradients a variance's 1/(n-1) reaches (bnvar = 1/(n-1) * bndiff2.sum(0) and what is
# below it): only there can a factor n/(n-1) be Bessel's correction. Above it (the cross-entropy,
# the second layer, BatchNorm's own parameters) it is the mean's 1/n written 1/(n-1).
BELOW_VARIANCE = frozenset(EXERCISE1[EXERCISE1.index("dbndiff2") :])


def variable_of(grad_name: str) -> str:
    """`dbnvar_inv` -> `bnvar_inv`: the variable a gradient has the shape of."""
    return grad_name[1:]


# The census first names the student bundle ships beside train.py, which trains on them when the
# lecture's names.txt is not there (the notebook carries the same names).
CENSUS_NAMES = "census_names.txt"
