"""The graded training item: a small WaveNet trained on names by the student's own backwards.

The grader runs the forward pass of makemore part 5's hierarchical network (embedding, then
three rounds of flatten-by-2, Linear without bias, BatchNorm1d and tanh, then a Linear with bias
and cross-entropy) and hands every module's backward to the student's functions, from the loss
down to the embedding, each fed the gradient the student's previous call returned. The grader
applies the SGD update. Beside it runs the same loop driven by autograd in float64 from the same
start; after a few steps the student's parameters must track autograd's.

The run's inputs are the same for every submission, and student code is handed them: a file can
store autograd's answers to them and compute nothing. So the run counts only where every module
it drives also passed its hidden case at each size the run hands that module (`counted`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import torch

from grader.judge import TOLERANCE, not_finite
from grader.records import ItemResult
from grader.session import Outcome, Session

from . import model, spec
from .cases import Case
from .judging import split

BLOCK_SIZE = 8  # eight characters of context, merged two by two in three rounds
VOCAB = 27
N_EMBD, N_HIDDEN, BATCH = 6, 16, 16
TRAIN_SEED = 1337
TRAIN_STEPS = 6
TRAIN_LR = 0.1
# Measured (torch 2.13, CPU): after 6 steps the solution's parameters sit 7.6e-7 (of their
# update) from autograd's float64 run; Bessel's n in batchnorm drifts 2.1e-2, `dweight[ix] +=
# dout` 0.61. 1e-4 is 130x above the first and 200x below the second.
TRAIN_TOLERANCE = 1e-4

# The network, input to output: (module, its parameters, its argument).
LAYERS = (
    ("embedding", ("C",), None),
    ("flatten_consecutive", (), 2),
    ("linear", ("W1",), None),
    ("batchnorm", ("gamma1", "beta1"), None),
    ("tanh", (), None),
    ("flatten_consecutive", (), 2),
    ("linear", ("W2",), None),
    ("batchnorm", ("gamma2", "beta2"), None),
    ("tanh", (), None),
    ("flatten_consecutive", (), 2),
    ("linear", ("W3",), None),
    ("batchnorm", ("gamma3", "beta3"), None),
    ("tanh", (), None),
    ("linear", ("W4", "b4"), None),
)
FUNCTION = {i.kind: i.function for i in spec.ITEMS}
ALLOWED = {i.kind: i.allowed for i in spec.ITEMS}
# The lecture's words for a parameter: its module's class and the attribute it lives in.
MODULE = {"embedding": "Embedding", "linear": "Linear", "batchnorm": "BatchNorm1d"}
ATTRIBUTE = {"embedding": ("weight",), "linear": ("weight", "bias"), "batchnorm": ("gamma", "beta")}
ORDINAL = ("first", "second", "third", "fourth", "fifth")  # the last of its kind: "last"


def lecture_name(param: str) -> str:
    """A parameter of the run as the lecture's modules name it, `the second Linear's weight
    (W2)`, `the last Linear's bias (b4)`: the run's own keys (W1, gamma2, C, b4) appear nowhere
    a student of this assignment reads, whose network is a list of modules, so "W1 has
    drifted" pointed nowhere."""
    for kind, names, _ in LAYERS:
        if param in names:
            attribute = ATTRIBUTE[kind][names.index(param)]
            same = [ns for k, ns, _ in LAYERS if k == kind]
            at = same.index(names)
            which = "" if len(same) == 1 else "last " if at == len(same) - 1 else ORDINAL[at] + " "
            return f"the {which}{MODULE[kind]}'s {attribute} ({param})"
    return param


def init_params(
    g: torch.Generator, n_embd: int = N_EMBD, n_hidden: int = N_HIDDEN
) -> dict[str, torch.Tensor]:
    """makemore part 5's initialisation (fan-in scaled weights, a small last layer), with
    batchnorm's gain and bias drawn near 1 and 0 so that zeros cannot hide a wrong gradient."""
    p = {"C": torch.randn(VOCAB, n_embd, generator=g)}
    fan_in = 2 * n_embd
    for k in (1, 2, 3):
        p[f"W{k}"] = torch.randn(fan_in, n_hidden, generator=g) * (5 / 3) / fan_in**0.5
        p[f"gamma{k}"] = 1 + 0.1 * torch.randn(n_hidden, generator=g)
        p[f"beta{k}"] = 0.1 * torch.randn(n_hidden, generator=g)
        fan_in = 2 * n_hidden
    p["W4"] = torch.randn(n_hidden, VOCAB, generator=g) * 0.1 / n_hidden**0.5
    p["b4"] = 0.1 * torch.randn(VOCAB, generator=g)
    return p


def forward(p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> tuple[list[dict], torch.Tensor]:
    """Every layer's inputs and computed values, and the logits; works in any dtype."""
    records, h = [], Xb
    for kind, names, arg in LAYERS:
        t = _layer_inputs(kind, names, arg, p, h)
        values = model._forward(kind, t)
        records.append({**t, **values})
        h = values["out"]
    return records, h


def _layer_inputs(kind, names, arg, p, h) -> dict:
    if kind == "embedding":
        return {"ix": h, "weight": p[names[0]]}
    if kind == "linear":
        return {"x": h, "weight": p[names[0]], "bias": p[names[1]] if len(names) > 1 else None}
    if kind == "batchnorm":
        return {"x": h, "gamma": p[names[0]], "beta": p[names[1]]}
    if kind == "flatten_consecutive":
        return {"x": h, "n": arg}
    return {"x": h}


def loss_of(p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> torch.Tensor:
    return model.cross_entropy(forward(p, Xb, Yb)[1], Yb)


def census_names() -> list[str]:
    """The census first names shipped in the `names` package, lower case, each once."""
    folder = resources.files("names")
    lines = [ln for f in ("dist.female.first", "dist.male.first")
             for ln in (folder / f).read_text().splitlines()]  # fmt: skip
    return sorted({ln.split()[0].lower() for ln in lines if ln.strip()})


@functools.lru_cache(maxsize=1)
def dataset() -> tuple[torch.Tensor, torch.Tensor]:
    """The training item's data: every context of the census names (see `contexts`)."""
    return contexts(census_names())


def contexts(words: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every 8-character context of the words and the character after it, '.' (0) marking a
    word's start and end; characters other than a-z are dropped."""
    stoi = {c: i + 1 for i, c in enumerate(string.ascii_lowercase)}
    X, Y = [], []
    for w in words:
        context = [0] * BLOCK_SIZE
        for ch in [c for c in w if c in stoi] + ["."]:
            ix = stoi.get(ch, 0)
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


@dataclass
class TrainingRun:
    passed: bool
    status: str
    message: str
    steps_done: int = 0
    max_rel_err: float | None = None
    per_param: dict[str, float] = field(default_factory=dict)
    val_loss: float | None = None


def sgd_run(session: Session) -> TrainingRun:
    g = torch.Generator().manual_seed(TRAIN_SEED)
    start = init_params(g)
    X, Y = dataset()
    # Float64 master weights, a float32 forward: the drift is the gradients' error alone.
    params = {k: t.double() for k, t in start.items()}
    ref = {k: t.double().requires_grad_() for k, t in start.items()}
    first_wrong: list[str] = []
    for step in range(TRAIN_STEPS):
        ix = torch.randint(0, X.shape[0], (BATCH,), generator=g)
        Xb, Yb = X[ix], Y[ix]
        current = {k: t.float() for k, t in params.items()}
        grads = student_grads(session, current, Xb, Yb, first_wrong)
        if isinstance(grads, Outcome):
            message = grads.message if grads.whole_file else f"step {step + 1}: {grads.message}"
            return TrainingRun(False, grads.status, message, step)
        truth = torch.autograd.grad(loss_of(ref, Xb, Yb), list(ref.values()))
        with torch.no_grad():
            for (k, r), t in zip(ref.items(), truth, strict=True):
                params[k] = params[k] - TRAIN_LR * grads[k].double()
                r -= TRAIN_LR * t
    ref = {k: r.detach() for k, r in ref.items()}
    moved = {k: (ref[k] - start[k].double()).abs().max().item() for k in start}
    floor = 0.01 * max(moved.values())
    per_param = {
        k: (params[k] - ref[k]).abs().max().item() / max(moved[k], floor, 1e-30) for k in start
    }
    worst = max(per_param, key=per_param.get)
    val = _val_loss({k: t.float() for k, t in params.items()}, g)
    if per_param[worst] > TRAIN_TOLERANCE:
        return TrainingRun(
            False,
            "failed",
            f"after {TRAIN_STEPS} SGD steps {lecture_name(worst)} has drifted from autograd's "
            f"run by {per_param[worst]:.2g} of its update{_first_wrong(first_wrong)}",
            TRAIN_STEPS,
            per_param[worst],
            per_param,
            val,
        )
    msg = f"{TRAIN_STEPS} SGD steps of the WaveNet track autograd's run"
    return TrainingRun(True, "passed", msg, TRAIN_STEPS, per_param[worst], per_param, val)


def student_grads(
    session: Session, p: dict, Xb, Yb, wrong: list[str] | None = None
) -> dict[str, torch.Tensor] | Outcome:
    """Every parameter's gradient, from the student's functions alone, loss down to embedding.
    Given `wrong`, the first call whose answer differs from autograd's on its own inputs is
    added to it: the drifted parameter is where the error ends up, not where it starts."""
    with torch.no_grad():
        records, logits = forward(p, Xb, Yb)
        loss = model.cross_entropy(logits, Yb)
    got = _call(session, "cross_entropy", {"logits": logits, "targets": Yb, "loss": loss},
                ("dlogits",), {"logits": logits})  # fmt: skip
    if isinstance(got, Outcome):
        return got
    _compare("cross_entropy", {"logits": logits, "targets": Yb}, None, got, wrong)
    dout, grads = got["dlogits"], {}
    for (kind, names, _), rec in zip(reversed(LAYERS), reversed(records), strict=True):
        item = _item(kind, names)
        got = _call(session, kind, {**rec, "dout": dout}, item.grads, rec)
        if isinstance(got, Outcome):
            return got
        _compare(kind, rec, dout, got, wrong)
        for name, grad in zip(names, [g for g in item.grads if g != "dx"], strict=True):
            grads[name] = got[grad]
        dout = got.get("dx")
    return grads


# A module's own inputs, from which autograd's answer to its call is computed.
LEAVES = ("x", "ix", "weight", "bias", "gamma", "beta", "n", "logits", "targets")


def _compare(kind: str, rec: dict, dout, got: dict, wrong: list[str] | None) -> None:
    """Adds to `wrong` the call's first gradient off autograd's on the same inputs by more
    than the judge's tolerance. A hard-coded batch of 32 in cross_entropy_backward passed every
    public case and failed the run (batch 16) as "the last BatchNorm1d's gamma has drifted",
    which sent the student to a right batchnorm_backward."""
    if wrong is None or wrong:
        return
    leaves = {k: rec[k] for k in LEAVES if k in rec}
    truth = model.autograd(kind, leaves, dout)
    for g, answer in got.items():
        want = truth[g]
        scale = want.abs().max().item()
        if (answer.double() - want).abs().max().item() > TOLERANCE[torch.float32] * scale:
            wrong.append(f"{FUNCTION[kind]}, whose {g} {tuple(want.shape)} differed from")
            return


def _first_wrong(wrong: list[str]) -> str:
    """The run's failure's pointer to the call where it began, when one differed."""
    if not wrong:
        return ""
    return f"; it began at {wrong[0]} autograd's on the same inputs"


def _item(kind: str, names: tuple[str, ...]) -> spec.Item:
    if kind == "linear":
        return spec.BY_NAME["linear" if len(names) > 1 else "linear_nobias"]
    if kind == "batchnorm":
        return spec.BY_NAME["batchnorm_2d"]
    return next(i for i in spec.ITEMS if i.kind == kind)


def _call(session, kind, available, grads, shapes) -> dict[str, torch.Tensor] | Outcome:
    """One student call; its gradients as float32 tensors of the right shapes, or why not."""
    func = FUNCTION[kind]
    # Public: the run's verdict and deviations are shown to the student.
    # Its own scope: a timeout in the items' cases does not skip the run, nor one here them.
    outcome = session.call(spec.FILE, func, available, ALLOWED[kind], public=True, scope="training")
    if outcome.whole_file:
        return outcome
    if outcome.status != "ok":
        return Outcome(outcome.status, f"{func}: {outcome.message}")
    values = split(outcome.value, grads)
    if isinstance(values, str):
        return Outcome("failed", f"{func}: {values}")
    out = {}
    for g, value in values.items():
        want = shapes[g[1:]]  # dx -> x, dweight -> weight: the gradient has its variable's size
        if not isinstance(value, tuple):
            return Outcome("failed", f"{func}'s {g} is not a tensor")
        got, shape = tuple(value[0].shape), tuple(want.shape)
        # The judge's rule: the variable's shape, size-1 dimensions aside. A flatten's dout
        # handed back unreshaped has the right size and the wrong shape: it once trained on.
        if [d for d in got if d != 1] != [d for d in shape if d != 1]:
            return Outcome("failed", f"{func}'s {g} has shape {got}; expected {shape}")
        t = value[0].reshape(want.shape).to(torch.float32)
        if not torch.isfinite(t).all():
            return Outcome("failed", f"{func}'s {g} {not_finite(value[0], torch.float32)}")
        out[g] = t
    return out


def _val_loss(p: dict, g: torch.Generator) -> float | None:
    """The held-out loss after the run, or None where it is no number: gradients of 3e38 at
    the last step (finite, so the run took them) leave weights whose forward overflows, and
    result.json held `Infinity`, which strict JSON parsers refuse (its numbers are finite)."""
    X, Y = dataset()
    ix = torch.randint(0, X.shape[0], (256,), generator=g)
    with torch.no_grad():
        loss = float(loss_of(p, X[ix], Y[ix]))
    return loss if math.isfinite(loss) else None


# What sets a call's sizes: its input's and its weight's shapes, and the flatten's n.
SIZED = ("x", "ix", "weight", "logits", "n")


def sizes(inputs: dict) -> tuple:
    """A call's sizes, comparable between a case's inputs and a call of the run."""
    return tuple(
        (k, tuple(v.shape) if isinstance(v, torch.Tensor) else v)
        for k in SIZED
        if (v := inputs.get(k)) is not None
    )


@functools.lru_cache(maxsize=1)
def run_sizes() -> frozenset[tuple[str, tuple]]:
    """(item, sizes) of every call the run makes, from its forward on a batch of its size:
    the sizes alone, which no step changes."""
    p = init_params(torch.Generator().manual_seed(TRAIN_SEED))
    Xb = torch.zeros(BATCH, BLOCK_SIZE, dtype=torch.long)
    with torch.no_grad():
        records, logits = forward(p, Xb, None)
    calls = {("cross_entropy", sizes({"logits": logits}))}
    for (kind, names, _), rec in zip(LAYERS, records, strict=True):
        item = _item(kind, names).name
        if kind == "batchnorm" and rec["x"].dim() == 3:
            item = "batchnorm_3d"  # the same function, judged as its own item on 3-D input
        calls.add((item, sizes(rec)))
    return frozenset(calls)


def at_run_sizes(case: Case) -> bool:
    return (case.item, sizes(case.inputs)) in run_sizes()


def run_sized(every: Iterable[Case]) -> set[str]:
    """The ids of the cases at sizes the run hands their module (a hidden case at each)."""
    return {case.id for case in every if at_run_sizes(case)}


def counted(run: ItemResult, items: Sequence[ItemResult], run_sized_ids: set[str]) -> ItemResult:
    """The run's item as it counts: a run that passed, beside a module that did not pass a case
    at the sizes the run hands it, takes that case's status.

    The run's inputs are fixed and handed to student code, so its answers can be stored: a
    layers.py computing four modules and storing batchnorm's and cross-entropy's answers to the
    run and the public cases kept the run's 20 points, whatever it returned elsewhere. A wrong
    module fails the run on its own wherever the run can tell; this ties the run to the modules
    where it cannot (a dropped epsilon, below the run's tolerance at its variances). The case
    is hidden where the module's case is: the run's words tell that case's verdict."""
    gap = next(
        ((i, c) for i in items for c in i.cases if c.case in run_sized_ids and not c.passed), None
    )
    if not run.passed or gap is None:
        return run
    item, case = gap
    function = spec.BY_NAME[item.id.split(".", 1)[1]].function
    where = "a public case" if case.public else "a hidden case"
    message = (
        f"{run.message}, but {function} did not pass {where} at sizes this run hands it "
        f"({case.status}: {item.id} says why), so the run cannot count: it counts only where "
        "every module it drives passes its case at the run's sizes"
    )
    public = run.cases[0].public and case.public
    judged = dataclasses.replace(run.cases[0], status=case.status, message=message, public=public)
    return dataclasses.replace(run, status=case.status, message=message, cases=[judged])
