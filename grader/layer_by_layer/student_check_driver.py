"""The public self-check's driver: the student bundle's check.py is model.py + spec.py + this.

It runs the public cases only (spec.PUBLIC: nothing hidden), calls each function of the
student's layers.py with the arguments it declares, and prints one row per module with the
largest difference from autograd. Closeness is the grader's rule: max|student - truth| <=
2e-5 * max|truth|, the truth being autograd in float64 from the same float32 values. It needs
only torch, and always exits 0: it reports, it does not grade (the WaveNet training item is the
grader's alone).

Usage: python check.py [FOLDER]   (default: the folder check.py lives in)
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

import torch

from .model import make_case
from .spec import FILE, ITEMS, PUBLIC

RTOL = 2e-5  # the grader's float32 tolerance (grader/judge.py); a test keeps them equal


def _load(path: Path):
    if not path.is_file():
        return None, f"missing: {path.name} not found"
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # a student's file may even call exit(); report it, go on
        return None, f"error: could not import {path.name}: {type(e).__name__}: {e}"
    return module, ""


def _call(fn, allowed: frozenset[str], available: dict):
    """Call fn with exactly the arguments it declares (fresh copies); **kwargs gets them all."""

    def fresh(v):
        return v.clone() if isinstance(v, torch.Tensor) else v

    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(**{k: fresh(v) for k, v in available.items() if k in allowed})
    kwargs = {}
    for p in params:
        if p.name not in allowed:
            raise TypeError(f"declares {p.name!r}; allowed: {', '.join(sorted(allowed))}")
        kwargs[p.name] = fresh(available[p.name])
    return fn(**kwargs)


def _verdict(result, grads: tuple[str, ...], truth: dict) -> tuple[str, float | None]:
    if isinstance(result, torch.Tensor) and len(grads) == 1:
        result = {grads[0]: result}
    if not isinstance(result, dict):
        return f"WRONG: returned {type(result).__name__}, expected a dict", None
    worst = 0.0
    for g in grads:
        value, want = result.get(g), truth[g]
        if not isinstance(value, torch.Tensor):
            return f"WRONG: {g} is {type(value).__name__}, not a tensor", None
        if value.shape != want.shape:
            return f"WRONG: {g} has shape {tuple(value.shape)}, expected {tuple(want.shape)}", None
        diff = (value.double() - want).abs().max().item()
        worst = max(worst, diff)
        if diff > RTOL * max(want.abs().max().item(), 1e-30):
            return f"WRONG: {g} differs from autograd by {diff:.2e}", diff
    return "ok", worst


def check(folder: Path) -> list[tuple[str, str, float | None]]:
    """(item, verdict, max difference) for every item's public case."""
    module, problem = _load(folder / f"{FILE}.py")
    rows = []
    for item in ITEMS:
        for cfg in PUBLIC[item.name]:
            if module is None:
                rows.append((item.name, problem, None))
                continue
            fn = getattr(module, item.function, None)
            if not callable(fn):
                rows.append((item.name, f"missing: no function {item.function}", None))
                continue
            inputs, truth = make_case(item.kind, cfg)
            try:
                result = _call(fn, item.allowed, inputs)
            except NotImplementedError:
                rows.append((item.name, "todo", None))
                continue
            except Exception as e:  # noqa: BLE001 - a student's error is a row, not a crash
                rows.append((item.name, f"ERROR: {type(e).__name__}: {e}", None))
                continue
            rows.append((item.name, *_verdict(result, item.grads, truth)))
    return rows


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    rows = check(folder)
    for name, verdict, diff in rows:
        shown = f"{diff:10.2e}" if diff is not None else " " * 10
        print(f"{name:<22}{shown}  {verdict}")
    passed = sum(v == "ok" for _, v, _ in rows)
    print(f"\n{passed}/{len(rows)} public cases pass (the grader adds hidden shapes and training)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
