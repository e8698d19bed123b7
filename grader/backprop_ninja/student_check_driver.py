"""The public self-check's driver: the student bundle's check.py is model.py + spec.py + this.

It runs the lecture's public configuration only (Config() defaults, seed 42: nothing hidden),
calls every function of the student's files with its declared arguments, and prints a table in
the spirit of the lecture's `cmp`. Closeness is the grader's rule: max|student - truth| <=
2e-5 * max(max|truth|, scale), the truth being autograd in float64 from the same float32 values.
It imports only torch and the standard library, so a student needs nothing else, and it always
exits 0: it reports, it does not grade.

Usage: python check.py [FOLDER]   (default: the folder check.py lives in)
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import sys
from pathlib import Path

import torch

from .model import (
    Config,
    atomic_forward,
    autograd_grads,
    compact_forward,
    detached,
    init_params,
    random_batch,
)
from .spec import (
    ALLOWED_EXERCISE3,
    EXERCISE1,
    EXERCISE2,
    EXERCISE3_GRADS,
    allowed_exercise1,
    allowed_exercise2,
)

RTOL = 2e-5  # the grader's float32 tolerance (grader/judge.py); a test keeps them equal
# A mathematically zero gradient is judged against the size of the gradient that flows into it,
# so that float32 round-off in an exact zero-sum is not mistaken for an error.
SCALE_FROM = {"dlogit_maxes": "dnorm_logits", "db1": "dhprebn"}


def _load(path: Path) -> tuple[object | None, str]:
    """The student's module, or None and the reason it could not be loaded."""
    if not path.is_file():
        return None, f"missing: {path.name} not found"
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # a student's file may even call exit(); report it, go on
        return None, f"error: could not import {path.name}: {type(e).__name__}: {e}"
    return module, ""


def _lookup(module: object, name: str) -> tuple[object | None, str]:
    fn = getattr(module, name, None)
    if callable(fn):
        return fn, ""
    defined = [k for k, v in vars(module).items() if callable(v) and not k.startswith("_")]
    close = difflib.get_close_matches(name, defined, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return None, f"missing: no function {name}{hint}"


def _fresh(value: object) -> object:
    return value.clone() if isinstance(value, torch.Tensor) else value


def _call(fn, allowed: frozenset[str], available: dict) -> object:
    """Call fn with exactly the arguments it declares (fresh copies); **kwargs gets them all."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(**{k: _fresh(v) for k, v in available.items() if k in allowed})
    kwargs = {}
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            continue
        if p.name not in allowed:
            raise PermissionError(f"declares '{p.name}', which this function may not use")
        kwargs[p.name] = _fresh(available[p.name])
    return fn(**kwargs)


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def _compare(got: object, truth: torch.Tensor, exact: torch.Tensor, scale: float) -> str:
    """One row's verdict, maxdiff and shape for a returned value."""
    if not isinstance(got, torch.Tensor):
        return f"error: returned {type(got).__name__}, not a torch.Tensor"
    if not got.is_floating_point():
        return f"error: returned a {got.dtype} tensor, not a floating-point one"
    note, shape = "", _shape(got)
    if got.shape != truth.shape:
        if [s for s in got.shape if s != 1] != [s for s in truth.shape if s != 1]:
            return f"WRONG shape {_shape(got)}, expected {_shape(truth)}"
        note = f" (expected {_shape(truth)}: passes with a warning)"
        got = got.reshape(truth.shape)
    if not torch.isfinite(got).all():
        return f"error: NaN or Inf in the result | shape {_shape(got)}"
    maxdiff = (got.double() - truth).abs().max().item()
    bound = RTOL * max(truth.abs().max().item(), scale)
    is_exact = got.dtype == exact.dtype and torch.equal(got, exact)
    verdict = "exact" if is_exact else "approximate" if maxdiff <= bound else "WRONG"
    return f"{verdict:<11} | maxdiff {maxdiff:.1e} | shape {shape}{note}"


def _autograd_same_dtype(forward, p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """Autograd in the inputs' own dtype: the lecture's `exact` compares with this."""
    leaves = {k: t.detach().clone().requires_grad_() for k, t in p.items()}
    v = forward(leaves, Xb, Yb)
    for t in v.values():
        t.retain_grad()
    v["loss"].backward()
    grads = {"d" + k: t.grad for k, t in v.items() if k != "loss"}
    grads.update({"d" + k: t.grad for k, t in leaves.items()})
    return grads


def _case(forward, cfg: Config) -> tuple[dict, dict, dict]:
    """Values a student function may declare, the float64 truth and the same-dtype autograd."""
    g = torch.Generator().manual_seed(cfg.seed)
    p = init_params(cfg, g)
    Xb, Yb = random_batch(cfg, g)
    truth = autograd_grads(forward, p, Xb, Yb)
    exact = _autograd_same_dtype(forward, p, Xb, Yb)
    values = {**p, **detached(forward(p, Xb, Yb)), "Xb": Xb, "Yb": Yb, "n": cfg.n}
    values.update(cfg.sizes())
    # Exercise 1 is judged in isolation: upstream gradients are autograd's, in the inputs' dtype
    # (as the lecture's, so that a formula PyTorch also uses can come out `exact`).
    values.update({k: t.detach() for k, t in exact.items()})
    return values, truth, exact


def _row(item: str, verdict: str) -> str:
    return f"{item:<26} | {verdict}"


def _judge(fn, allowed: frozenset[str], values: dict) -> tuple[object, str]:
    """The function's result, or None and the row's text when it did not return normally."""
    try:
        return _call(fn, allowed, values), ""
    except NotImplementedError:
        return None, "not implemented"
    except Exception as e:
        return None, f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def _check_functions(folder: Path, file: str, names, allowed_of, case) -> list[str]:
    values, truth, exact = case
    module, problem = _load(folder / file)
    rows = []
    for name in names:
        item = f"{Path(file).stem}.{name}"
        fn, missing = (None, problem) if module is None else _lookup(module, name)
        if fn is None:
            rows.append(_row(item, missing))
            continue
        got, failure = _judge(fn, allowed_of(name), values)
        scale = truth[SCALE_FROM[name]].abs().max().item() if name in SCALE_FROM else 0.0
        rows.append(_row(item, failure or _compare(got, truth[name], exact[name], scale)))
    return rows


def _check_backward(folder: Path, case) -> list[str]:
    values, truth, exact = case
    items = [f"exercise3.{g}" for g in EXERCISE3_GRADS]
    module, problem = _load(folder / "exercise3.py")
    fn, problem = (None, problem) if module is None else _lookup(module, "backward")
    if fn is None:
        return [_row(item, problem) for item in items]
    got, failure = _judge(fn, ALLOWED_EXERCISE3, values)
    if failure:
        return [_row(item, failure) for item in items]
    if isinstance(got, (list, tuple)) and len(got) == len(EXERCISE3_GRADS):
        got = dict(zip(EXERCISE3_GRADS, got, strict=True))
    if not isinstance(got, dict):
        wrong = "error: backward must return a dict of the 7 gradients or a list/tuple of 7"
        return [_row(item, wrong) for item in items]
    rows = []
    for g, item in zip(EXERCISE3_GRADS, items, strict=True):
        scale = truth[SCALE_FROM[g]].abs().max().item() if g in SCALE_FROM else 0.0
        verdict = _compare(got[g], truth[g], exact[g], scale) if g in got else f"missing: no {g}"
        rows.append(_row(item, verdict))
    return rows


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent
    cfg = Config()
    atomic = _case(atomic_forward, cfg)
    rows = _check_functions(folder, "exercise1.py", EXERCISE1, allowed_exercise1, atomic)
    rows += _check_functions(folder, "exercise2.py", EXERCISE2, allowed_exercise2, atomic)
    rows += _check_backward(folder, _case(compact_forward, cfg))
    print(f"Public check of {folder} (the lecture's configuration; the grader adds hidden cases)")
    print("\n".join(rows))
    passed = sum(" | exact " in r or " | approximate " in r for r in rows)
    print(f"{passed} of {len(rows)} gradients match autograd.")
    return 0


if __name__ == "__main__":
    sys.dont_write_bytecode = True  # leave no __pycache__ beside the student's files
    sys.exit(main())
