"""The training demo (`grader train`): the lecture's model trained by a student's own backward.

The loop lives in backprop_ninja/training_demo.py, which the student bundle's train.py runs as
well; here the student's `backward` runs in the grader's sandbox (a TA may run the demo on a
student's file), the default data is the US census first names shipped inside the `names`
package (no download needed; `--data names.txt` uses the lecture's file), and a tqdm bar shows
the progress on a terminal.
"""

from __future__ import annotations

import atexit
import inspect
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from tqdm import tqdm

from grader.sandbox.client import Limits, Zygote, warm_torch
from grader.student_text import call_failure, empty_file, import_failure

from .spec import ALLOWED_EXERCISE3
from .training_demo import (  # noqa: F401 - the demo's API, re-exported
    ALPHABET,
    DEFAULT_SEED,
    TrainingError,
    build_dataset,
    call_by_name,
    clean_names,
    read_names,
    split_words,
    train,
)

CENSUS_FILES = ("dist.female.first", "dist.male.first")


def load_names(data: Path | None) -> list[str]:
    """Lower-case names made of a-z only: from `data` (one per line) or the census lists."""
    if data is not None:
        return read_names(data)
    folder = resources.files("names")
    lines = [ln for f in CENSUS_FILES for ln in (folder / f).read_text().splitlines()]
    # The census lists name some people twice (male and female); names.txt is kept as it is.
    return sorted(set(clean_names(ln.split()[0] for ln in lines if ln.strip())))


def load_backward(path: Path) -> Callable[..., object]:
    """The student's exercise-3 `backward`, running in the grader's sandbox, as a local callable.

    The demo may be run by a TA on a student's file, so the code is treated like any submission:
    it runs in its own limited process and only tensors come back. The callable carries the
    student's declared signature, so `call_by_name` passes exactly what it declares.
    """
    if not path.is_file():
        hint = " (give the file, not its folder)" if path.is_dir() else ""
        raise TrainingError(
            f"{path} not found{hint}: give the path of your exercise3.py, e.g. "
            "grader train exercise3.py"
        )
    try:
        source = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise TrainingError(f"cannot read {path} ({e}): save it as UTF-8 text") from None
    if empty_file(path.stem, source):
        raise TrainingError(empty_file(path.stem, source))
    warm_torch()
    zygote = Zygote(Limits())
    atexit.register(zygote.close)
    process = zygote.spawn()
    reply = process.load("exercise3", source)
    if not reply.ok:
        raise TrainingError(import_failure("exercise3", reply.message, brief=True))
    declared = reply.functions.get("backward")
    if declared is None:
        raise TrainingError(f"{path} defines no function `backward`")

    def backward(**kwargs):
        answer = process.call("exercise3", "backward", kwargs, [])
        if answer.kind == "not_implemented":
            raise NotImplementedError
        if not answer.ok:
            why = call_failure("backward", answer.message, list(kwargs), ALLOWED_EXERCISE3)
            raise TrainingError(f"backward failed ({answer.kind}): {why}")
        return _plain(answer.value)

    backward.__signature__ = _signature(declared)
    return backward


def _signature(declared: dict) -> inspect.Signature:
    """The signature the sandbox reported, for `call_by_name`. A defaulted parameter keeps a
    default here too, so call_by_name leaves it out when the training run has no value of that
    name, and the student's own default applies. Each name once (a forged report may repeat
    one), defaulted ones found in a set (a list lookup per name is quadratic in a forged
    report's megabyte), and the `**` parameter named apart from them: `kwargs=None` beside
    `**kw` is Python, and a `**kwargs` of the same name ended `grader train` in a ValueError."""
    names = list(dict.fromkeys(declared["params"]))
    defaulted = set(declared.get("defaulted", []))
    params = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=_OWN_DEFAULT)
        if n in defaulted
        else inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY)
        for n in names
    ]
    if declared.get("varkw"):
        rest, taken = "kwargs", set(names)
        while rest in taken:
            rest = "_" + rest
        params.append(inspect.Parameter(rest, inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(params)


_OWN_DEFAULT = object()


def _plain(value: object) -> object:
    """Decoded values back to plain tensors: (tensor, dtype) pairs inside a dict or list."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return value[0]
    return value


def run_training(
    exercise3: Path, data: Path | None, steps: int, check_steps: int, seed: int
) -> dict:
    """Train with the student's backward and report (training_demo.train's dict)."""
    words = load_names(data)
    backward = load_backward(exercise3)
    # disable=None: a bar on a terminal only, not its every redraw in a log (`2> log`, a pipe)
    bar = tqdm(total=steps, desc="training", unit="step", disable=None)

    def progress(step: int, loss: float) -> None:
        bar.update(1)
        if step % 50 == 0 or step == steps - 1:
            bar.set_postfix(loss=f"{loss:.4f}")

    try:
        return train(backward, words, steps, check_steps, seed, echo=tqdm.write, progress=progress)
    finally:
        bar.close()
