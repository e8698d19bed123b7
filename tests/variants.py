"""The submissions the tests grade: classic mistakes and valid alternatives, as edits of solutions.

Each variant is one or more exact edits of one solution file (an edit that no longer applies
exactly once fails loudly, so a change to the solutions cannot let a variant rot). A mistake
names the one item it must fail and the words its message or hint must contain; an alternative
names the items it rewrites, all of which must still pass. test_grading grades them through the
sandbox; test_judge runs the same sources in-process to measure the tolerance's margins.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import torch

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions" / "backprop-ninja"


@dataclass(frozen=True)
class Variant:
    """A solution file with edits: `items` are the item ids the edits touch."""

    file: str
    edits: tuple[tuple[str, str], ...]
    items: frozenset[str]
    # Words the item's message + hint must contain (lower case), e.g. "bessel".
    says: tuple[str, ...] = ()
    # Words one of the item's warnings must contain (alternatives that pass with a warning).
    warns: tuple[str, ...] = ()

    def source(self) -> str:
        src = (SOLUTIONS / f"{self.file}.py").read_text()
        for old, new in self.edits:
            assert src.count(old) == 1, f"{old!r} must occur exactly once in {self.file}.py"
            src = src.replace(old, new)
        return src


def _v(file: str, item: str, old: str, new: str, says=(), warns=(), also=()) -> Variant:
    """One edit of `file` touching `item` (and the items in `also`)."""
    items = frozenset(f"{file}.{i}" for i in (item, *also))
    return Variant(file, ((old, new),), items, tuple(says), tuple(warns))


# Each classic mistake of the lecture, and what the student must be told about it.
MISTAKES: dict[str, Variant] = {
    "bessel": _v("exercise1", "dbndiff2", "(1.0 / (n - 1))", "(1.0 / n)", says=("bessel", "n-1")),
    "bessel_fused": _v(
        "exercise2",
        "dhprebn",
        "n / (n - 1) * bnraw",
        "bnraw",
        says=("bessel",),
    ),
    "missing_epsilon": _v(
        "exercise1",
        "dbnvar",
        "(-0.5 * (bnvar + 1e-5) ** -1.5)",
        "(-0.5 * bnvar**-1.5)",
        says=("epsilon", "1e-5"),
    ),
    "missing_branch_counts": _v(
        "exercise1", "dcounts", "    dcounts += dcounts_sum\n", "", says=("branch", "counts")
    ),
    "missing_branch_bndiff": _v(
        "exercise1",
        "dbndiff",
        "    dbndiff += 2 * bndiff * dbndiff2\n",
        "",
        says=("branch", "bndiff"),
    ),
    "missing_branch_hprebn": _v(
        "exercise1",
        "dhprebn",
        "    dhprebn += (1.0 / n) * dbnmeani\n",
        "",
        says=("branch", "hprebn"),
    ),
    "tanh_twice": _v(
        "exercise1",
        "dhpreact",
        "(1.0 - h**2) * dh",
        "(1.0 - torch.tanh(h) ** 2) * dh",
        says=("tanh applied twice",),
    ),
    # 1 - tanh**2 written with tanh's input: no hint named it (layer-by-layer's had one).
    "tanh_at_input": Variant(
        "exercise1",
        (
            ("def dhpreact(h, dh):", "def dhpreact(hpreact, dh):"),
            ("(1.0 - h**2) * dh", "(1.0 - hpreact**2) * dh"),
        ),
        frozenset({"exercise1.dhpreact"}),
        ("derivative was taken at its input hpreact",),
    ),
    "power_rule_bndiff2": _v(
        "exercise1",
        "dbndiff",
        "2 * bndiff * dbndiff2",
        "bndiff * dbndiff2",
        says=("power rule",),
    ),
    "mean_branch_1_over_n": _v(
        "exercise1",
        "dhprebn",
        "(1.0 / n) * dbnmeani",
        "dbnmeani",
        says=("1/n",),
    ),
    "missing_sum_db2": _v(
        "exercise1", "db2", "db2 = dlogits.sum(0)", "db2 = dlogits", says=("shape", "broadcast")
    ),
    "missing_sum_dbnbias": _v(
        "exercise1",
        "dbnbias",
        "dbnbias = dhpreact.sum(0, keepdim=True)",
        "dbnbias = dhpreact",
        says=("shape", "broadcast"),
    ),
    "transposed_dW2": _v(
        "exercise1", "dW2", "dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h", says=("transposed",)
    ),
    "sign_dbnmeani": _v(
        "exercise1",
        "dbnmeani",
        "dbnmeani = (-dbndiff).sum(0, keepdim=True)",
        "dbnmeani = dbndiff.sum(0, keepdim=True)",
        says=("sign",),
    ),
    "sign_dcounts_sum": _v(
        "exercise1",
        "dcounts_sum",
        "dcounts_sum = -(counts_sum**-2)",
        "dcounts_sum = (counts_sum**-2)",
        says=("sign",),
    ),
    "missing_1_over_n": _v(
        "exercise1",
        "dlogprobs",
        "dlogprobs[range(n), Yb] = -1.0 / n",
        "dlogprobs[range(n), Yb] = -1.0",
        says=("factor n", "1/n"),
    ),
    "missing_1_over_n_fused": _v(
        "exercise2", "dlogits", "    dlogits /= n\n", "", says=("factor n", "1/n")
    ),
    "exponent_dcounts_sum_inv": _v(
        "exercise1",
        "dcounts_sum",
        "-(counts_sum**-2)",
        "-(counts_sum**-1)",
    ),
    "exponent_dbnvar": _v(
        "exercise1", "dbnvar", "(bnvar + 1e-5) ** -1.5", "(bnvar + 1e-5) ** -0.5"
    ),
    "dC_fancy_index": _v(
        "exercise1",
        "dC",
        "    dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))\n",
        "    dC[Xb] += demb\n",
        says=("repeated characters",),
    ),
    # A loop over rows keeps one use of a character repeated inside a context (`...`).
    "dC_row_loop": _v(
        "exercise1",
        "dC",
        "    dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))\n",
        "    for k in range(Xb.shape[0]):\n        dC[Xb[k]] += demb[k]\n",
        says=("repeated characters",),
    ),
    # Exercise 3 returns every parameter's gradient at once: a mistake reaches every gradient
    # below it, but not the training run, which takes a gradient already failed from autograd
    # (one mistake is charged once).
    "bessel_exercise3": _v(
        "exercise3",
        "dW1",
        "n / (n - 1) * bnraw",
        "bnraw",
        also=("dC",),
        says=("bessel",),
    ),
    "dC_fancy_index_exercise3": _v(
        "exercise3",
        "dC",
        "    dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))\n",
        "    dC[Xb] += demb\n",
        says=("repeated characters",),
    ),
    "missing_sum_exercise3": _v(
        "exercise3",
        "dbnbias",
        "dbnbias = dhpreact.sum(0, keepdim=True)",
        "dbnbias = dhpreact",
        says=("shape", "broadcast"),
    ),
}


def _edits(file: str, items: tuple[str, ...], *edits: tuple[str, str], says=()) -> Variant:
    """Several edits of `file` touching `items` (a changed signature and the line using it)."""
    return Variant(file, edits, frozenset(f"{file}.{i}" for i in items), tuple(says))


# BatchNorm's epsilon dropped below dbnvar (1/sqrt(bnvar) or 1/std for bnvar_inv). It shows
# through the quiet unit alone (model.quieten), 30x the tolerance at least on every case; each
# must be named. Exercise 3's dC is not among the items: the quiet unit reaches it through its
# small column of W1, so there it fails every case nearer the tolerance (1.2x at least:
# test_judge), and a grading fails dC beside dW1.
_NO_EPS = ("epsilon", "1e-5")
NARROW_MISTAKES: dict[str, Variant] = {
    "missing_epsilon_dbndiff": _edits(
        "exercise1",
        ("dbndiff",),
        ("def dbndiff(bnvar_inv, dbnraw,", "def dbndiff(bnvar, dbnraw,"),
        ("    dbndiff = bnvar_inv * dbnraw\n", "    dbndiff = bnvar**-0.5 * dbnraw\n"),
        says=_NO_EPS,
    ),
    "missing_epsilon_fused": _edits(
        "exercise2",
        ("dhprebn",),
        ("def dhprebn(dhpreact, bngain, bnvar_inv,", "def dhprebn(dhpreact, bngain, bnvar,"),
        ("        * bnvar_inv\n", "        * bnvar**-0.5\n"),
        says=_NO_EPS,
    ),
    "missing_epsilon_fused_std": _edits(
        "exercise2",
        ("dhprebn",),
        (
            "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):",
            "def dhprebn(dhpreact, bngain, hprebn, n):",
        ),
        (
            "    dhprebn = (\n",
            "    bnvar_inv = 1 / hprebn.std(0, keepdim=True)\n"
            "    bnraw = (hprebn - hprebn.mean(0, keepdim=True)) * bnvar_inv\n"
            "    dhprebn = (\n",
        ),
        says=_NO_EPS,
    ),
    "missing_epsilon_exercise3": _edits(
        "exercise3",
        ("dW1",),
        ("hprebn, bnvar_inv, bnraw, h, logits", "hprebn, bnvar, bnraw, h, logits"),
        ("        * bnvar_inv\n", "        * bnvar**-0.5\n"),
        says=_NO_EPS,
    ),
}

_INDEX_ADD = "    dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))\n"

# Correct ways to write a gradient other than the solutions' own; each must pass.
ALTERNATIVES: dict[str, Variant] = {
    "dC_loop": _v(
        "exercise1",
        "dC",
        _INDEX_ADD,
        "    for i in range(Xb.shape[0]):\n"
        "        for j in range(Xb.shape[1]):\n"
        "            dC[Xb[i, j]] += demb[i, j]\n",
    ),
    "dC_one_hot_matmul": _v(
        "exercise1",
        "dC",
        _INDEX_ADD,
        "    onehot = F.one_hot(Xb.view(-1), num_classes=C.shape[0]).to(demb.dtype)\n"
        "    dC = onehot.T @ demb.view(-1, C.shape[1])\n",
    ),
    "dlogits_one_hot": _v(
        "exercise2",
        "dlogits",
        "    dlogits = F.softmax(logits, 1)\n    dlogits[range(n), Yb] -= 1\n    dlogits /= n\n",
        "    dlogits = (F.softmax(logits, 1) - F.one_hot(Yb, logits.shape[1])) / n\n",
    ),
    "dlogits_max_mask": _v(
        "exercise1",
        "dlogits",
        "F.one_hot(logits.max(1).indices, num_classes=logits.shape[1])",
        "(logits == logits.max(1, keepdim=True).values)",
    ),
    "expand_as": _v(
        "exercise1",
        "dbndiff2",
        "(1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar",
        "dbnvar.expand_as(bndiff2) / (n - 1)",
    ),
    "broadcasting": _v(
        "exercise1",
        "dhprebn",
        "    dhprebn = dbndiff.clone()\n    dhprebn += (1.0 / n) * dbnmeani\n",
        "    dhprebn = dbndiff + dbnmeani / n\n",
    ),
    "clone_plus_equals": _v(
        "exercise1",
        "dcounts",
        "    dcounts = counts_sum_inv * dprobs\n    dcounts += dcounts_sum\n",
        "    dcounts = (counts_sum_inv * dprobs).clone()\n"
        "    dcounts += torch.ones_like(dprobs) * dcounts_sum\n",
    ),
    "lecture_dbnmeani": _v(
        "exercise1",
        "dbnmeani",
        "dbnmeani = (-dbndiff).sum(0, keepdim=True)",
        "dbnmeani = (-dbndiff).sum(0)",
        warns=("size-1",),
    ),
    "zeros_dlogit_maxes": _v(
        "exercise1",
        "dlogit_maxes",
        "dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)",
        "dlogit_maxes = torch.zeros(dnorm_logits.shape[0], 1)",
    ),
    "zeros_db1": _v(
        "exercise1", "db1", "db1 = dhprebn.sum(0)", "db1 = torch.zeros(dhprebn.shape[1])"
    ),
    "dhprebn_from_bndiff": _v(
        "exercise2",
        "dhprebn",
        "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):",
        "def dhprebn(dhpreact, bngain, bnvar_inv, bndiff, n):\n"
        "    dmean = dhpreact.mean(0, keepdim=True)\n"
        "    dvar = (dhpreact * bndiff).sum(0, keepdim=True) * bnvar_inv**2 / (n - 1)\n"
        "    return bngain * bnvar_inv * (dhpreact - dmean - bndiff * dvar)",
    ),
    # Through the quiet unit (model.Config), whose tiny variance makes BatchNorm's epsilon count:
    # the statistics recomputed in float32, other powers, the step-by-step batchnorm backward.
    "dbnvar_from_bnvar_inv": _edits(
        "exercise1",
        ("dbnvar",),
        ("def dbnvar(bnvar, dbnvar_inv):", "def dbnvar(bnvar_inv, dbnvar_inv):"),
        ("(-0.5 * (bnvar + 1e-5) ** -1.5)", "(-0.5 * bnvar_inv**3)"),
    ),
    "dhprebn_recomputed_rsqrt": _edits(
        "exercise2",
        ("dhprebn",),
        (
            "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):",
            "def dhprebn(dhpreact, bngain, hprebn, n):",
        ),
        (
            "    dhprebn = (\n",
            "    var, mean = torch.var_mean(hprebn, 0, keepdim=True, correction=1)\n"
            "    bnvar_inv = torch.rsqrt(var + 1e-5)\n"
            "    bnraw = (hprebn - mean) * bnvar_inv\n"
            "    dhprebn = (\n",
        ),
    ),
    "dhprebn_step_by_step": _v(
        "exercise2",
        "dhprebn",
        "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):",
        "def dhprebn(dhpreact, bngain, bndiff, bnvar, n):\n"
        "    dxhat = dhpreact * bngain\n"
        "    dvar = (dxhat * bndiff).sum(0, keepdim=True) * -0.5 * (bnvar + 1e-5) ** -1.5\n"
        "    dmean = -(dxhat * (bnvar + 1e-5) ** -0.5).sum(0, keepdim=True)\n"
        "    dmean += dvar * (-2 * bndiff).sum(0, keepdim=True) / (n - 1)\n"
        "    return dxhat * (bnvar + 1e-5) ** -0.5 + dvar * 2 * bndiff / (n - 1) + dmean / n",
    ),
    "float64": _v(
        "exercise1",
        "dh",
        "dh = dlogits @ W2.T",
        "dh = dlogits.double() @ W2.T.double()",
        warns=("float64",),
    ),
    "kwargs": _v(
        "exercise1",
        "dprobs",
        "def dprobs(probs, dlogprobs):",
        "def dprobs(**kw):\n    probs, dlogprobs = kw['probs'], kw['dlogprobs']",
    ),
    "extra_allowed_args": _v(
        "exercise1",
        "dW2",
        "def dW2(h, dlogits):",
        "def dW2(h, dlogits, W2, n, vocab_size, dh, loss):",
    ),
    "exercise3_list": _v(
        "exercise3",
        "dC",
        "    return {\n",
        "    return [dC, dW1, db1, dW2, db2, dbngain, dbnbias]\n    return {\n",
        also=("dW1", "db1", "dW2", "db2", "dbngain", "dbnbias", "training"),
    ),
}


def load(source: str, name: str) -> ModuleType:
    """Our own (trusted) variant source as a module, in-process."""
    module = ModuleType(name)
    exec(compile(source, f"{name}.py", "exec"), module.__dict__)
    return module


def call(fn, available: dict):
    """Call `fn` as the grader does: by declared names (all of `available` for **kwargs)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        names = list(available)
    else:
        names = [p.name for p in params]
    return fn(**{k: _copy(available[k]) for k in names})


def _copy(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def with_functions(file: str, source: str | None = None, **functions: str) -> str:
    """The solution `file` (or `source`) with whole functions replaced by new definitions.

    Each value is the complete new `def` (dedented); the old function runs from its `def` line
    to its `# END SOLUTION` marker.
    """
    src = source if source is not None else (SOLUTIONS / f"{file}.py").read_text()
    for name, code in functions.items():
        start = src.index(f"\ndef {name}(") + 1
        end = src.index("# END SOLUTION", start) + len("# END SOLUTION")
        src = src[:start] + textwrap.dedent(code).strip() + src[end:]
    return src


def combined(variants: list[Variant]) -> str:
    """One source with the edits of several variants of the same file (disjoint edits)."""
    (file,) = {v.file for v in variants}
    src = (SOLUTIONS / f"{file}.py").read_text()
    for v in variants:
        for old, new in v.edits:
            assert src.count(old) == 1, f"{old!r} must occur exactly once when combining"
            src = src.replace(old, new)
    return src
