"""The public self-check's driver: the student bundle's check.py is model.py, spec.py, the
grader's judge.py and student_text.py, and this, pasted into one file.

It runs the public cases only (spec.PUBLIC: nothing hidden), calls each function of the
student's layers.py with the arguments it declares, judges every returned gradient with the
grader's own rule and words (judge.judge, spec.split, the suite's "first failing gradient"), and
prints the table `grader check` prints (student_text.render). So the verdict and the message of
each public case are the grader's: a NaN, a complex or integer answer, a shape that differs only
by size-1 dimensions, an undeclared argument, autograd. Not here: the known mistakes' hints (they
stay in the grader) and the WaveNet training item (the grader's alone). It needs only torch, and
always exits 0: it reports, it does not grade.

Usage: python check.py [FOLDER]   (default: the folder check.py lives in)
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path

import torch

from ..judge import judge
from ..student_text import (
    autograd_used,
    call_failure,
    import_failure,
    listing,
    missing_function,
    render,
)
from .model import make_case
from .spec import FILE, FUNCTIONS, ITEMS, PUBLIC, split

# Tensors cross the grader's wire only in these dtypes (bfloat16 travels as float32).
WIRE_DTYPES = {"float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"}


class NotATensor:
    """A returned value that is not a tensor: only its type name counts (as in the grader)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


def as_the_grader_sees(value, depth: int = 0):
    """A returned value as the grader receives it from its sandbox: (tensor, dtype) pairs,
    None, one level of dict or list, and a NotATensor for anything else."""
    if isinstance(value, torch.Tensor):
        t = torch.Tensor.as_subclass(value, torch.Tensor).detach().cpu()
        name = str(t.dtype).removeprefix("torch.")
        if t.dtype == torch.bfloat16:
            return (t.float().clone(), name)
        if name not in WIRE_DTYPES:
            return NotATensor(f"tensor of dtype {name}")
        return (t.clone(), name)
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return NotATensor(type(value).__name__)
    if depth == 0 and isinstance(value, dict):
        return {str(k): as_the_grader_sees(v, 1) for k, v in value.items()}
    if depth == 0 and isinstance(value, (list, tuple)):
        return [as_the_grader_sees(v, 1) for v in value]
    return NotATensor(type(value).__name__)


def _student_traceback(e: BaseException, path: Path) -> str:
    """The traceback with the check's own frames cut out, as the grader shows it."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(e), e)
    return ("Traceback (most recent call last):\n" + "".join(lines))[-4000:]


def _load(path: Path):
    """(module, None) or (None, (status, message)) in the grader's words."""
    if not path.is_file():
        return None, ("missing", f"{FILE}.py was not submitted")
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # noqa: BLE001 - a student's file may even call exit()
        return None, ("error", import_failure(FILE, _student_traceback(e, path)))
    return module, None


def _some(names: list[str], limit: int = 12) -> str:
    shown = ", ".join(map(repr, names[:limit]))
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class _AutogradTripwire:
    """Notes a call of autograd's entry points during one call (the grader forbids them)."""

    ENTRY_POINTS = (
        (torch.Tensor, "backward"),
        (torch.autograd, "backward"),
        (torch.autograd, "grad"),
        *((torch.func, n) for n in ("grad", "grad_and_value", "vjp", "jvp", "jacrev")),
        *((torch.autograd.functional, n) for n in ("jacobian", "vjp", "jvp")),
    )

    def __enter__(self):
        self.fired, self._saved = False, []
        for owner, name in self.ENTRY_POINTS:
            original = getattr(owner, name, None)
            if original is not None:
                self._saved.append((owner, name, original))
                setattr(owner, name, self._tripped(original))
        return self

    def _tripped(self, original):
        def tripped(*args, **kwargs):
            self.fired = True
            return original(*args, **kwargs)

        return tripped

    def __exit__(self, *exc) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def _has_graph(value) -> bool:
    values = value.values() if isinstance(value, dict) else value
    if not isinstance(values, (list, tuple, type({}.values()))):
        values = [value]
    return any(isinstance(v, torch.Tensor) and v.grad_fn is not None for v in values)


def _call(fn, func: str, allowed: frozenset[str], available: dict, path: Path):
    """(status, message, value): the call as the grader's session makes and words it, with
    exactly the arguments the function declares (fresh copies); **kwargs gets them all."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        params = []
    kinds = inspect.Parameter
    names = [p.name for p in params if p.kind not in (kinds.VAR_KEYWORD, kinds.VAR_POSITIONAL)]
    not_allowed = [n for n in names if n not in allowed]
    if not_allowed:
        why = f"`{func}` declares {_some(not_allowed)}, which it may not use: allowed are "
        return "forbidden", why + listing(allowed), None
    if any(p.kind == kinds.VAR_POSITIONAL for p in params):
        return "error", f"`{func}` takes *args; declare the arguments by name", None
    declared = names + (list(available) if any(p.kind == kinds.VAR_KEYWORD for p in params) else [])
    args = {k: available[k] for k in dict.fromkeys(declared) if k in available and k in allowed}
    missing = [n for n in names if n not in args]
    if missing:
        return "error", f"`{func}` declares {_some(missing)}, which this case cannot supply", None
    args = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in args.items()}
    first = [args.pop(p.name) for p in params if p.kind == kinds.POSITIONAL_ONLY]
    value, failure = None, None
    with torch.no_grad(), _AutogradTripwire() as tripwire:
        try:
            value = fn(*first, **args)
        except NotImplementedError:
            failure = ("not_implemented", "not implemented (still raises NotImplementedError)")
        except Exception as e:  # noqa: BLE001 - a student's error is a row, not a crash
            failure = ("error", call_failure(func, _student_traceback(e, path), names, allowed))
    if tripwire.fired or _has_graph(value):  # autograd is the verdict, whatever followed
        return "forbidden", autograd_used(func), None
    if failure:
        return (*failure, None)
    return "ok", "", as_the_grader_sees(value)


def _case(item, status: str, message: str, value, truth: dict) -> dict:
    """One public case judged as the grader's judging.judge_module judges it."""
    first = item.grads[0]
    expected = list(truth[first].shape)
    if status != "ok":
        return {"status": status, "message": message, "expected_shape": expected}
    values = split(value, item.grads)
    if isinstance(values, str):
        return {"status": "failed", "message": values, "expected_shape": expected}
    results = {g: judge(values[g], truth[g], input_dtype=torch.float32, name=g) for g in item.grads}
    warnings = [f"{g}: {w}" for g, r in results.items() for w in r.warnings]
    failed = next(((g, r) for g, r in results.items() if not r.passed), None)
    g, r = failed if failed is not None else (first, results[first])
    return {
        "status": "failed" if failed else "passed",
        "message": f"{g}: {r.message}" if failed else "",
        "max_abs_err": r.max_abs_err,
        "shape": r.shape,
        "expected_shape": list(truth[g].shape),
        "warnings": warnings,
    }


def _item(item, case: dict) -> dict:
    """The item as grading.make_item makes it from its one public case."""
    passed = case["status"] == "passed"
    message = "all 1 cases passed" if passed else "0/1 cases passed; on a public case: "
    return {
        "id": f"{FILE}.{item.name}",
        "exercise": FILE,
        "status": case["status"],
        "message": message + ("" if passed else case["message"]),
        "hint": "",
        "warnings": list(dict.fromkeys(case.get("warnings", []))),
        "cases": [case],
    }


def check(folder: Path) -> dict:
    """The public cases judged as the grader judges them: a result like result.json's."""
    path = folder / f"{FILE}.py"
    module, problem = _load(path)
    items = []
    for item in ITEMS:
        for cfg in PUBLIC[item.name]:
            inputs, truth = make_case(item.kind, cfg)
            fn = getattr(module, item.function, None) if module is not None else None
            if problem:
                status, message, value = *problem, None
            elif not callable(fn):
                defined = {k for k, v in vars(module).items() if callable(v)}
                message = missing_function(item.function, FILE, defined, frozenset(FUNCTIONS))
                status, value = "missing", None
            else:
                status, message, value = _call(fn, item.function, item.allowed, inputs, path)
            items.append(_item(item, _case(item, status, message, value, truth)))
    return {"items": items}


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    if folder.is_file():
        folder = folder.parent  # `check.py layers.py` means the folder it is in
    print(render(check(folder), where=str(folder)))
    print("(the WaveNet training item is judged by the grader only)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
