"""The training demo's loop, torch only: the lecture's model trained by a student's `backward`.

The end of the lecture's last exercise: names become a character-level dataset, the compact
forward runs without autograd, and every gradient of every step comes from the student's
exercise-3 `backward`. For the first few steps autograd's gradients are computed too and
compared, with the grader's closeness rule, so a student sees at once whether a bad loss is their
gradient's fault. `grader train` runs the backward in the grader's sandbox; the student bundle's
train.py (`main` here) imports it in-process, under the grader's conditions. Whatever goes wrong
(a wrong path, a backward that raises or returns the wrong thing) is a TrainingError whose
message names the problem and the fix; the front doors print it, never a traceback.
"""

from __future__ import annotations

import argparse
import inspect
import io
import linecache
import random
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ..judge import TOLERANCE
from ..student_text import call_failure, counted, empty_file, import_failure
from . import model
from .cases import SCALE_FROM
from .model import PARAMS, Config
from .spec import ALLOWED_EXERCISE3, CENSUS_NAMES, EXERCISE3_GRADS

ALPHABET = "." + string.ascii_lowercase  # '.' marks the start and the end of a name
BLOCK_SIZE = 3
BATCH = 32
LR, LR_LATE = 0.1, 0.01
SPLIT_SEED = 42  # the lecture's random.seed(42) before it shuffles the words
N_SAMPLES = 10
MAX_SAMPLE_LEN = 30  # a badly trained model may never emit '.'
DEFAULT_SEED = 2147483647


class TrainingError(Exception):
    """The student's backward could not drive training (missing, raised, or bad gradients)."""


def clean_names(raw: list[str]) -> list[str]:
    """Lower-case names made of a-z only (the lecture's alphabet), blank lines dropped."""
    cleaned = ("".join(c for c in w.lower() if c in string.ascii_lowercase) for w in raw)
    return [w for w in cleaned if w]


def read_names(path: Path) -> list[str]:
    """One name per line, from the lecture's names.txt or any such file."""
    if not path.is_file():
        raise TrainingError(
            f"no names file at {path}: download the lecture's names.txt (one name per line) "
            "and put it beside train.py, or pass --data PATH"
        )
    try:
        return clean_names(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingError(f"cannot read {path} ({e}): it must be a UTF-8 text file") from None


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


def load_local_backward(path: Path) -> Callable[..., object]:
    """The student's `backward`, imported as the grader imports it (empty folder, no stdin, no
    debugger); for the bundle, where the student runs their own code on their own machine."""
    from ..check_process import TorchChanges, graders_conditions
    from ..local_check import student_traceback
    from .student_check_driver import BUNDLE_FOLDER, FILES

    if not path.is_file():
        hint = " (give the file, not its folder)" if path.is_dir() else ""
        raise TrainingError(
            f"{path} not found{hint}: give the path of your exercise3.py, e.g. "
            "python train.py exercise3.py"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingError(f"cannot read {path} ({e}): save it as UTF-8 text") from None
    if empty_file(path.stem, text):
        raise TrainingError(empty_file(path.stem, text))
    # Removed when `run` is dropped or Python exits (a folder per run piled up in /tmp).
    folder = tempfile.TemporaryDirectory(prefix="backprop-ninja-train-", ignore_cleanup_errors=True)
    home = Path(folder.name)
    # From memory under its bare name, as the grader runs it (local_check does the same).
    bare = Path("exercise3.py")
    linecache.cache[str(bare)] = (len(text), None, text.splitlines(True), str(bare))
    namespace: dict = {"__name__": "_student_exercise3", "__file__": str(bare)}
    # What the file changes in torch, met by its code only (the training's autograd run is the
    # check's own): in the grader, its own process.
    changes = TorchChanges()
    conditions = (path.parent, FILES, (BUNDLE_FOLDER,), changes)
    with graders_conditions(home, io.StringIO(), *conditions):
        try:
            exec(compile(text, str(bare), "exec"), namespace)  # noqa: S102 - the student's own file
        except BaseException as e:  # noqa: BLE001 - even exit() is reported, not obeyed
            raise TrainingError(
                import_failure("exercise3", student_traceback(e, bare), brief=True)
            ) from None
    backward = namespace.get("backward")
    if not callable(backward):
        raise TrainingError(f"{path} defines no function `backward`")

    def run(**kwargs):
        with graders_conditions(home, io.StringIO(), *conditions):
            try:
                return backward(**kwargs)
            except NotImplementedError:
                raise
            except BaseException as e:  # noqa: BLE001 - the student's error, in plain words
                trace = student_traceback(e, bare)
                raise TrainingError(
                    "backward failed: "
                    + call_failure("backward", trace, list(kwargs), ALLOWED_EXERCISE3)
                ) from None

    run.__signature__ = inspect.signature(backward)
    run.__name__ = "backward"
    run.folder = folder  # lives as long as the function that runs in it
    return run


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


def as_grads(result: object, p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """backward's result as {dC: ...}; a size-1-dims-only shape difference is reshaped away."""
    names = ", ".join(EXERCISE3_GRADS)
    if isinstance(result, (list, tuple)) and len(result) == len(EXERCISE3_GRADS):
        result = dict(zip(EXERCISE3_GRADS, result, strict=True))
    if not isinstance(result, dict):
        what = (
            f"{len(result)} values"
            if isinstance(result, (list, tuple))
            else (f"a {type(result).__name__}")
        )
        raise TrainingError(
            f"backward returned {what}: return a dict with keys {names}, or a list of the "
            "seven gradients in that order"
        )
    grads = {}
    for name in PARAMS:
        g, want = result.get("d" + name), p[name]
        if not isinstance(g, torch.Tensor):
            raise TrainingError(
                f"backward's d{name} is {type(g).__name__}, not a tensor: return a tensor "
                f"shaped like {name}, {tuple(want.shape)}"
            )
        if (
            g.shape != want.shape
            and g.numel() == want.numel()
            and g.squeeze().shape == want.squeeze().shape
        ):
            g = g.reshape(want.shape)
        if g.shape != want.shape:
            raise TrainingError(
                f"backward's d{name} has shape {tuple(g.shape)}, expected {tuple(want.shape)} "
                f"(the shape of {name}): a gradient has the shape of its parameter"
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
        except NotImplementedError:
            # No file named: the notebook's training cell says this too, where there is none.
            raise TrainingError(
                "backward is not implemented yet (it raises NotImplementedError): write it first"
            ) from None
        except Exception as e:
            raise TrainingError(f"backward raised {type(e).__name__}: {e}") from None
        return v["loss"].item(), as_grads(result, p)


def compare(p: dict, Xb: torch.Tensor, Yb: torch.Tensor, grads: dict) -> dict:
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


def check_table(checks: list[dict]) -> str:
    first = counted(len(checks), "step")
    lines = [f"Your gradients against autograd, first {first} (max abs diff):"]
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


def train(
    backward: Callable[..., object],
    words: list[str],
    steps: int,
    check_steps: int,
    seed: int,
    echo: Callable[[str], None] = print,
    progress: Callable[[int, float], None] | None = None,
) -> dict:
    """Train with `backward` and report: train/val loss, samples, losses and the grad check.

    grad_check holds, per checked step, {dC: (maxdiff, ok), ...}.
    """
    if len(words) < 10:
        raise TrainingError(f"the names file holds {len(words)} names; training needs at least 10")
    train_words, val_words, _ = split_words(words)
    (Xtr, Ytr), (Xval, Yval) = build_dataset(train_words), build_dataset(val_words)
    cfg = Config(vocab_size=len(ALPHABET), block_size=BLOCK_SIZE, n=BATCH, seed=seed)
    g = torch.Generator().manual_seed(seed)
    p = model.init_params(cfg, g)
    losses, checks = [], []
    for step in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (BATCH,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        loss, grads = _student_grads(backward, p, Xb, Yb, cfg)
        if step < check_steps:
            checks.append(compare(p, Xb, Yb, grads))
            if step == min(check_steps, steps) - 1:  # shown as soon as it is complete
                echo(check_table(checks))
        lr = LR if step < 0.75 * steps else LR_LATE
        for name in PARAMS:
            p[name] -= lr * grads["d" + name]
        losses.append(loss)
        if progress is not None:
            progress(step, loss)
    bn = _calibrate(p, Xtr)
    with torch.no_grad():
        train_loss = F.cross_entropy(_logits(p, Xtr, *bn), Ytr).item()
        val_loss = F.cross_entropy(_logits(p, Xval, *bn), Yval).item()
    echo(f"train loss {train_loss:.4f}   val loss {val_loss:.4f}")
    samples = _sample(p, bn, torch.Generator().manual_seed(seed + 10))
    echo("samples:\n  " + "\n  ".join(samples))
    return {
        "train_loss": train_loss,
        "val_loss": val_loss,
        "samples": samples,
        "losses": losses,
        "grad_check": checks,
    }


def _data(given: str | None, here: Path) -> Path:
    """--data, else the lecture's names.txt beside train.py, else the bundle's census names
    (said, since the samples then sound like another dataset's)."""
    if given is not None:
        return Path(given)
    lecture, census = here / "names.txt", here / CENSUS_NAMES
    if lecture.is_file() or not census.is_file():
        return lecture
    print(f"no names.txt beside train.py: training on {CENSUS_NAMES} (US census first names);")
    print("put the lecture's names.txt beside train.py, or pass --data PATH, to train on it")
    return census


def main(argv: list[str], here: Path) -> int:
    """The bundle's train.py: exit 0 after a run, 1 with a plain message when it cannot run."""
    parser = argparse.ArgumentParser(prog="train.py", description=__doc__.splitlines()[0])
    parser.add_argument("exercise3", nargs="?", default=str(here / "exercise3.py"))
    parser.add_argument(
        "--data",
        help=f"one name per line (default: names.txt beside train.py, else {CENSUS_NAMES})",
    )
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--check-steps", type=int, default=3)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)

    def report(step: int, loss: float) -> None:
        if step % 500 == 0 or step == args.steps - 1:
            print(f"step {step + 1:>6}/{args.steps}  loss {loss:.4f}")

    try:
        words = read_names(_data(args.data, here))
        backward = load_local_backward(Path(args.exercise3))
        train(backward, words, args.steps, args.check_steps, args.seed, progress=report)
    except TrainingError as e:
        print(f"train.py: {e}")
        return 1
    return 0
