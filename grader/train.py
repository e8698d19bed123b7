"""The training demo (`grader train`): the lecture's model trained by a student's own backward.

This is the end of the lecture's last exercise: names become a character-level dataset, the
compact forward runs without autograd, and every gradient of every step comes from the
student's exercise-3 `backward`. For the first few steps autograd's gradients are computed too
and compared, so a student sees at once whether a bad loss is their gradient's fault. The
default data is the US census first names shipped inside the `names` package, so the demo
needs no download; `--data names.txt` uses the lecture's file.
"""

from __future__ import annotations

import atexit
import inspect
import random
import string
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from .backprop_ninja import model
from .backprop_ninja.cases import SCALE_FROM
from .backprop_ninja.model import PARAMS, Config
from .backprop_ninja.spec import ALLOWED_EXERCISE3, EXERCISE3_GRADS
from .judge import TOLERANCE
from .sandbox.client import Limits, Zygote, warm_torch

ALPHABET = "." + string.ascii_lowercase  # '.' marks the start and the end of a name
BLOCK_SIZE = 3
BATCH = 32
LR, LR_LATE = 0.1, 0.01
SPLIT_SEED = 42  # the lecture's random.seed(42) before it shuffles the words
N_SAMPLES = 10
MAX_SAMPLE_LEN = 30  # a badly trained model may never emit '.'
CENSUS_FILES = ("dist.female.first", "dist.male.first")


class TrainingError(Exception):
    """The student's backward could not drive training (missing, raised, or bad gradients)."""


def load_names(data: Path | None) -> list[str]:
    """Lower-case names made of a-z only: from `data` (one per line) or the census lists."""
    if data is None:
        folder = resources.files("names")
        lines = [ln for f in CENSUS_FILES for ln in (folder / f).read_text().splitlines()]
        raw = [ln.split()[0] for ln in lines if ln.strip()]
    else:
        raw = data.read_text(encoding="utf-8").splitlines()
    cleaned = ("".join(c for c in w.lower() if c in string.ascii_lowercase) for w in raw)
    words = [w for w in cleaned if w]
    # The census lists name some people twice (male and female); names.txt is kept as it is.
    return sorted(set(words)) if data is None else words


def build_dataset(words: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The lecture's dataset: every BLOCK_SIZE-character context and the character after it."""
    stoi = {c: i for i, c in enumerate(ALPHABET)}
    X, Y = [], []
    for w in words:
        context = [0] * BLOCK_SIZE
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return torch.tensor(X, dtype=torch.int64), torch.tensor(Y, dtype=torch.int64)


def split_words(words: list[str]) -> tuple[list[str], list[str], list[str]]:
    """The lecture's 80/10/10 train/val/test split after a seeded shuffle."""
    words = list(words)
    random.Random(SPLIT_SEED).shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


def load_backward(path: Path) -> Callable[..., object]:
    """The student's exercise-3 `backward`, running in the grader's sandbox, as a local callable.

    The demo may be run by a TA on a student's file, so the code is treated like any submission:
    it runs in its own limited process and only tensors come back. The callable carries the
    student's declared signature, so `call_by_name` passes exactly what it declares.
    """
    if not path.is_file():
        raise TrainingError(f"{path} not found")
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingError(f"cannot read {path}: {e}") from None
    warm_torch()
    zygote = Zygote(Limits())
    atexit.register(zygote.close)
    process = zygote.spawn()
    reply = process.load("exercise3", source)
    if not reply.ok:
        raise TrainingError(f"could not import {path}:\n{reply.message}")
    declared = reply.functions.get("backward")
    if declared is None:
        raise TrainingError(f"{path} defines no function `backward`")

    def backward(**kwargs):
        answer = process.call("exercise3", "backward", kwargs, [])
        if answer.kind == "not_implemented":
            raise TrainingError("backward is not implemented yet (it raises NotImplementedError)")
        if not answer.ok:
            raise TrainingError(f"backward failed ({answer.kind}): {answer.message}")
        return _plain(answer.value)

    params = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in declared["params"]]
    if declared.get("varkw"):
        params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    backward.__signature__ = inspect.Signature(params)
    return backward


def _plain(value: object) -> object:
    """Decoded values back to plain tensors: (tensor, dtype) pairs inside a dict or list."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return value[0]
    return value


def call_by_name(fn: Callable[..., object], available: dict) -> object:
    """Call fn with exactly the arguments it declares, by name; `**kwargs` receives them all.

    Tensors are passed as fresh copies, so a function that changes an input in place cannot
    corrupt the training state.
    """

    def fresh(value: object) -> object:
        return value.clone() if isinstance(value, torch.Tensor) else value

    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(**{k: fresh(v) for k, v in available.items()})
    kwargs = {}
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            continue
        if p.name in available and p.kind is not p.POSITIONAL_ONLY:
            kwargs[p.name] = fresh(available[p.name])
        elif p.default is p.empty:
            allowed = ", ".join(sorted(available))
            raise TypeError(f"{fn.__name__} declares '{p.name}', which is not one of: {allowed}")
    return fn(**kwargs)


def _as_grads(result: object, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """backward's result as {dC: ...}; a size-1-dims-only shape difference is reshaped away."""
    if isinstance(result, (list, tuple)) and len(result) == len(EXERCISE3_GRADS):
        result = dict(zip(EXERCISE3_GRADS, result, strict=True))
    if not isinstance(result, dict):
        raise TrainingError("backward must return a dict of the 7 gradients or a list/tuple of 7")
    grads = {}
    for name in PARAMS:
        g, want = result.get("d" + name), p[name]
        if not isinstance(g, torch.Tensor):
            raise TrainingError(f"backward's d{name} is {type(g).__name__}, not a tensor")
        if (
            g.shape != want.shape
            and g.numel() == want.numel()
            and g.squeeze().shape == want.squeeze().shape
        ):
            g = g.reshape(want.shape)
        if g.shape != want.shape:
            raise TrainingError(
                f"backward's d{name} has shape {tuple(g.shape)}, expected {tuple(want.shape)}"
            )
        grads["d" + name] = g.to(want.dtype)
    return grads


def _student_grads(backward, p: dict, Xb: torch.Tensor, Yb: torch.Tensor, cfg: Config):
    """One step's loss and the student's gradients; no autograd anywhere in it."""
    with torch.no_grad():
        v = model.compact_forward(p, Xb, Yb)
        available = {**p, **v, "Xb": Xb, "Yb": Yb, "n": Xb.shape[0], **cfg.sizes()}
        available = {k: val for k, val in available.items() if k in ALLOWED_EXERCISE3}
        try:
            result = call_by_name(backward, available)
        except TrainingError:
            raise
        except Exception as e:
            raise TrainingError(f"backward raised {type(e).__name__}: {e}") from e
        return v["loss"].item(), _as_grads(result, p)


def _compare(p: dict, Xb: torch.Tensor, Yb: torch.Tensor, grads: dict) -> dict:
    """{dC: (maxdiff, ok), ...} against autograd in float64, with the grader's closeness rule."""
    truth = model.autograd_grads(model.compact_forward, p, Xb, Yb)
    out = {}
    for name, g in grads.items():
        t = truth[name]
        scale = truth[SCALE_FROM[name]].abs().max().item() if name in SCALE_FROM else 0.0
        maxdiff = (g.double() - t).abs().max().item()
        bound = TOLERANCE[torch.float32] * max(t.abs().max().item(), scale)
        out[name] = (maxdiff, maxdiff <= bound)
    return out


def _check_table(checks: list[dict]) -> str:
    lines = [f"Your gradients against autograd, first {len(checks)} step(s) (max abs diff):"]
    lines.append(f"{'':<9}" + "".join(f"step {i + 1:<6}" for i in range(len(checks))))
    for name in EXERCISE3_GRADS:
        diffs = "".join(f"{c[name][0]:<11.1e}" for c in checks)
        ok = all(c[name][1] for c in checks)
        lines.append(f"{name:<9}{diffs}{'ok' if ok else 'NOT OK'}")
    return "\n".join(lines)


def _logits(p: dict, X: torch.Tensor, bnmean: torch.Tensor, bnvar: torch.Tensor) -> torch.Tensor:
    """The forward with fixed BatchNorm statistics, as in the lecture's evaluation."""
    hprebn = p["C"][X].view(X.shape[0], -1) @ p["W1"] + p["b1"]
    bnraw = (hprebn - bnmean) * (bnvar + model.BN_EPS) ** -0.5
    h = torch.tanh(p["bngain"] * bnraw + p["bnbias"])
    return h @ p["W2"] + p["b2"]


@torch.no_grad()
def _calibrate(p: dict, Xtr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """BatchNorm's mean and variance over the whole training set (the lecture's calibration)."""
    hprebn = p["C"][Xtr].view(Xtr.shape[0], -1) @ p["W1"] + p["b1"]
    return hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True, unbiased=True)


@torch.no_grad()
def _sample(p: dict, bn: tuple, g: torch.Generator) -> list[str]:
    samples = []
    for _ in range(N_SAMPLES):
        out, context = [], [0] * BLOCK_SIZE
        while len(out) < MAX_SAMPLE_LEN:
            probs = F.softmax(_logits(p, torch.tensor([context]), *bn), dim=1)
            if not torch.isfinite(probs).all():
                break
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            if ix == 0:
                break
            out.append(ix)
            context = context[1:] + [ix]
        samples.append("".join(ALPHABET[i] for i in out))
    return samples


def run_training(
    exercise3: Path, data: Path | None, steps: int, check_steps: int, seed: int
) -> dict:
    """Train with the student's backward and report; returns train/val loss, samples and more.

    The returned dict holds train_loss, val_loss, samples, losses (one per step) and
    grad_check (per checked step, {dC: (maxdiff, ok), ...}).
    """
    train_words, val_words, _ = split_words(load_names(data))
    (Xtr, Ytr), (Xval, Yval) = build_dataset(train_words), build_dataset(val_words)
    cfg = Config(vocab_size=len(ALPHABET), block_size=BLOCK_SIZE, n=BATCH, seed=seed)
    g = torch.Generator().manual_seed(seed)
    p = model.init_params(cfg, g)
    backward = load_backward(exercise3)
    losses, checks = [], []
    bar = tqdm(range(steps), desc="training", unit="step")
    for step in bar:
        ix = torch.randint(0, Xtr.shape[0], (BATCH,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        loss, grads = _student_grads(backward, p, Xb, Yb, cfg)
        if step < check_steps:
            checks.append(_compare(p, Xb, Yb, grads))
            if step == min(check_steps, steps) - 1:  # shown as soon as it is complete
                tqdm.write(_check_table(checks))
        lr = LR if step < 0.75 * steps else LR_LATE
        for name in PARAMS:
            p[name] -= lr * grads["d" + name]
        losses.append(loss)
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss:.4f}")
    bar.close()
    bn = _calibrate(p, Xtr)
    with torch.no_grad():
        train_loss = F.cross_entropy(_logits(p, Xtr, *bn), Ytr).item()
        val_loss = F.cross_entropy(_logits(p, Xval, *bn), Yval).item()
    print(f"train loss {train_loss:.4f}   val loss {val_loss:.4f}")
    samples = _sample(p, bn, torch.Generator().manual_seed(seed + 10))
    print("samples:", *samples, sep="\n  ")
    return {
        "train_loss": train_loss,
        "val_loss": val_loss,
        "samples": samples,
        "losses": losses,
        "grad_check": checks,
    }
