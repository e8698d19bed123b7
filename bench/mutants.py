"""Mutation testing of the scoring: does any small slip in a solution still earn full points?

Each solution function (backprop-ninja's exercises 1 to 3, layer-by-layer's modules) is
rewritten one small edit at a time through its syntax tree: sum for mean, keepdim dropped or
added, a constant changed (a dim 0 for 1, 2 for 1 in x**2, the epsilon dropped), n for n-1 or
n+1, a sign, a transpose or a matrix product's operands swapped, one term of a sum or one
statement dropped, an input swapped for another variable of the same shape. Every mutant is
judged on every case, hidden ones included, with the grader's own judge, as the suites call it
(the answer read as it crosses the sandbox's wire, an argument outside the allowed set
refused). A mutant that passes every case of its items survives. A survivor that matches
autograd in float64 on other configurations (seven sizes and seeds; layer-by-layer's public
ones with other seeds), within the judge's float64 tolerance, is an equivalent mutant: a valid
way to write the gradient. Any other survivor is a slip that the cases or the tolerance let
through: the script names it and exits 1 (tests/test_mutants.py runs it).

Measured in the twenty-ninth session: this screen gives the verdict `grader grade` gives
(every case, through the sandbox) on each of its 1,499 mutants, and the student check
(check.py) gives the grader's verdict on every public case of each (as it did on a first run's
1,659 mutants of a wider set of edits). Backprop-ninja: 1,225 made, 1,153 killed, 72 survived, all
equivalent; layer-by-layer: 274 made, 257 killed, 17 survived, all equivalent. The first slip
to earn full points comes at a float32 tolerance of 3e-3, 150 times the judge's (half the
epsilon in dbnvar); at 1e-3 there is none.

    .venv/bin/python bench/mutants.py
"""

from __future__ import annotations

import ast
import copy
import inspect
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.backprop_ninja import spec as ninja_spec  # noqa: E402
from grader.backprop_ninja.cases import build_case  # noqa: E402
from grader.backprop_ninja.cases import cases as ninja_cases  # noqa: E402
from grader.backprop_ninja.model import Config  # noqa: E402
from grader.backprop_ninja.training import split_grads  # noqa: E402
from grader.judge import TOLERANCE, judge  # noqa: E402
from grader.layer_by_layer import model as lbl_model  # noqa: E402
from grader.layer_by_layer import spec as lbl_spec  # noqa: E402
from grader.layer_by_layer.cases import cases as lbl_cases  # noqa: E402
from grader.layer_by_layer.judging import judge_module  # noqa: E402
from grader.local_check import as_the_grader_sees  # noqa: E402
from grader.records import Outcome  # noqa: E402

# A valid formula's float64 error, as a share of the gradient's scale: the judge's float64
# tolerance (mathematically zero gradients written another way, such as db1 as bndiff.sum(0),
# come to 3e-12 of their floor).
EQUIVALENT = TOLERANCE[torch.float64]
SWAPPED_METHODS = {
    "sum": "mean",
    "mean": "sum",
    "zeros_like": "ones_like",
    "ones_like": "zeros_like",
    "softmax": "log_softmax",
    "max": "min",
    "indices": "values",
    "values": "indices",
    "index_add_": "index_copy_",
    "view": "reshape",
}
SWAPPED_OPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}


@dataclass
class Mutant:
    file: str
    function: str
    label: str
    source: str


# Mutation operators: each takes a node and its function's shapes, and yields (label, new node).


def _constant(value: float) -> ast.expr:
    return ast.UnaryOp(ast.USub(), ast.Constant(-value)) if value < 0 else ast.Constant(value)


def _constants(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    if not isinstance(node, ast.Constant) or type(node.value) not in (int, float):
        return
    c = node.value
    changed = [c + 1, c - 1, -c, 2 * c, 0 * c] + (
        [c / 2, c / 10, 10 * c] if type(c) is float else []
    )
    for v in dict.fromkeys(changed):
        if v != c:
            yield f"constant {c!r} -> {v!r}", _constant(v)


def _operators(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield "sign dropped", node.operand
    if not isinstance(node, ast.BinOp):
        return
    if type(node.op) in SWAPPED_OPS:
        yield "operator swapped", ast.BinOp(node.left, SWAPPED_OPS[type(node.op)](), node.right)
    if isinstance(node.op, ast.Pow):
        yield "power dropped", node.left
        return
    yield "right term dropped", node.left
    yield "left term dropped", node.right
    if isinstance(node.op, (ast.MatMult, ast.Sub, ast.Div)):
        yield "operands swapped", ast.BinOp(node.right, node.op, node.left)
    if isinstance(node.op, ast.MatMult):
        yield "left transposed", ast.BinOp(ast.Attribute(node.left, "T"), node.op, node.right)
        yield "elementwise for @", ast.BinOp(node.left, ast.Mult(), node.right)


def _calls(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield "transpose dropped", node.value
    if isinstance(node, ast.Attribute) and node.attr in SWAPPED_METHODS:
        yield (
            f".{node.attr} -> .{SWAPPED_METHODS[node.attr]}",
            ast.Attribute(node.value, SWAPPED_METHODS[node.attr]),
        )
    if not isinstance(node, ast.Call):
        return
    method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
    if method == "clone":
        yield "clone dropped", node.func.value
    for i, kw in enumerate(node.keywords):
        rest = node.keywords[:i] + node.keywords[i + 1 :]
        yield f"{kw.arg}= dropped", ast.Call(node.func, node.args, rest)
    reduced = method in ("sum", "mean")
    if reduced and node.args and not any(k.arg in ("keepdim", "keepdims") for k in node.keywords):
        keep = ast.keyword("keepdim", ast.Constant(True))
        yield "keepdim=True added", ast.Call(node.func, node.args, [*node.keywords, keep])
    if reduced and node.args:
        yield "summed over everything", ast.Call(node.func, [], [])
    if len(node.args) >= 2:
        yield "arguments swapped", ast.Call(node.func, [node.args[1], node.args[0]], node.keywords)


def _names(node: ast.AST, shapes: Callable[[str], tuple | None], names: list[str]):
    if not isinstance(node, ast.Name) or not isinstance(node.ctx, ast.Load):
        return
    if node.id == "n":
        yield "n -> n-1", ast.BinOp(ast.Name("n"), ast.Sub(), ast.Constant(1))
        yield "n -> n+1", ast.BinOp(ast.Name("n"), ast.Add(), ast.Constant(1))
    own = shapes(node.id)
    for other in names:
        if other != node.id and own is not None and shapes(other) == own:
            yield f"{node.id} -> {other}", ast.Name(other)


def mutants_of(
    fn: ast.FunctionDef, shapes, names: list[str], own: set[str]
) -> Iterator[tuple[str, str]]:
    """(label, source) of every first-order mutant of `fn`: one node replaced or one statement
    dropped. A name swapped in is declared when it is neither an argument nor one of the
    function's `own` locals."""
    declared = {a.arg for a in fn.args.args} | own
    seen = {ast.unparse(fn)}
    for index, node in enumerate(ast.walk(fn)):
        if node is fn or isinstance(node, ast.arguments | ast.arg) or _docstring(node):
            continue
        edits = [*_constants(node), *_operators(node), *_calls(node), *_names(node, shapes, names)]
        if isinstance(node, ast.stmt) and not isinstance(node, ast.Return):
            edits.append(("statement dropped", None))
        for label, new in edits:
            mutated = _replaced(fn, index, new)
            if isinstance(new, ast.Name) and new.id not in declared and shapes(new.id) is not None:
                mutated.args.args.append(ast.arg(new.id))
            source = ast.unparse(ast.fix_missing_locations(mutated))
            if source not in seen:
                seen.add(source)
                yield f"{label} in `{ast.unparse(node).splitlines()[0][:60]}`", source


def _docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr | ast.Constant) and isinstance(
        getattr(node, "value", None), str | ast.Constant
    )


def _replaced(fn: ast.FunctionDef, index: int, new: ast.AST | None) -> ast.FunctionDef:
    """A copy of `fn` with its `index`-th node (in ast.walk's order) replaced, or dropped."""
    copied = copy.deepcopy(fn)
    target = list(ast.walk(copied))[index]
    for parent in ast.walk(copied):
        for name, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, name, copy.deepcopy(new))
                return copied
            if isinstance(value, list) and any(v is target for v in value):
                i = next(i for i, v in enumerate(value) if v is target)
                if new is None:
                    del value[i]
                    value[i:i] = [] if value else [ast.Pass()]
                else:
                    value[i] = copy.deepcopy(new)
                return copied
    raise LookupError(index)


# Calling a function as the grader does, and its shapes on the public cases.


def load(source: str, name: str) -> Callable:
    namespace: dict = {}
    exec("import torch\nimport torch.nn.functional as F\n" + source, namespace)  # our own code
    return namespace[name]


def call(fn: Callable, inputs: dict, allowed: frozenset[str] | None = None):
    """`fn` called by the names it declares; one outside `allowed` is refused, as the grader
    refuses it (forbidden), rather than handed the gradient of that name."""
    names = inspect.signature(fn).parameters
    if allowed is not None and not set(names) <= allowed:
        raise PermissionError(f"declares {sorted(set(names) - allowed)}")
    return fn(**{k: inputs[k].clone() if torch.is_tensor(inputs[k]) else inputs[k] for k in names})


def local_shapes(fn: Callable, inputs: dict) -> dict[str, tuple]:
    """The shapes of `fn`'s tensors when it returns on `inputs` (its locals included)."""
    seen: dict = {}

    def trace(frame, event, _):
        if frame.f_code is fn.__code__:
            if event == "return":
                seen.update(frame.f_locals)
            return trace
        return None

    sys.settrace(trace)
    try:
        call(fn, inputs)
    finally:
        sys.settrace(None)
    return {k: tuple(v.shape) for k, v in seen.items() if torch.is_tensor(v)}


def file_mutants(path: Path, functions, allowed_of, inputs_of) -> Iterator[Mutant]:
    source = path.read_text()
    for fn in ast.parse(source).body:
        if not isinstance(fn, ast.FunctionDef) or fn.name not in functions:
            continue
        allowed, envs = allowed_of(fn.name), inputs_of(fn.name)
        original = load(ast.get_source_segment(source, fn), fn.name)
        own = [local_shapes(original, env) for env in envs]

        def shapes(name: str, envs=envs, own=own, allowed=allowed) -> tuple | None:
            found = [
                mine[name]
                if name in mine
                else tuple(env[name].shape)
                if name in allowed and torch.is_tensor(env.get(name))
                else None
                for env, mine in zip(envs, own, strict=True)
            ]
            return None if None in found else tuple(found)

        names = sorted(set(allowed) | set(own[0]))
        for label, mutated in mutants_of(fn, shapes, names, set(own[0])):
            yield Mutant(path.stem, fn.name, label, mutated)


# Backprop Ninja: judged on every case, and in float64 for equivalence.

NINJA = ROOT / "solutions" / "backprop-ninja"
FLOAT64 = [
    Config(dtype="float64", seed=1, quiet_unit=True),
    Config(dtype="float64", seed=2),
    Config(vocab_size=15, block_size=4, n_embd=5, n_hidden=24, n=22, seed=3, dtype="float64"),
    Config(vocab_size=11, block_size=2, n_embd=3, n_hidden=7, n=5, seed=4, dtype="float64"),
    Config(vocab_size=40, block_size=5, n_embd=4, n_hidden=33, n=100, seed=5, dtype="float64"),
    Config(vocab_size=7, block_size=1, n_embd=2, n_hidden=9, n=3, seed=6, dtype="float64"),
    Config(vocab_size=31, block_size=5, n_embd=4, n_hidden=33, n=9, seed=7, dtype="float64"),
]


def ninja_mutants(files: frozenset[str] | None = None) -> Iterator[Mutant]:
    """Every first-order mutant of the exercise files (of `files` only, when given)."""
    public = ninja_cases(public_only=True)
    atomic = [c.atomic_inputs for c in public]
    compact = [c.compact_inputs for c in public]
    plan = {
        "exercise1": (ninja_spec.EXERCISE1, ninja_spec.allowed_exercise1, atomic),
        "exercise2": (ninja_spec.EXERCISE2, ninja_spec.allowed_exercise2, atomic),
        "exercise3": (("backward",), lambda _: ninja_spec.ALLOWED_EXERCISE3, compact),
    }
    for file, (functions, allowed_of, inputs) in plan.items():
        if files is None or file in files:
            yield from file_mutants(
                NINJA / f"{file}.py", functions, allowed_of, lambda _, inputs=inputs: inputs
            )


def ninja_answers(m: Mutant, case) -> list[tuple[str, object, torch.Tensor, float]]:
    """(gradient, the answer as the grader reads it, truth, scale floor) for `m` on `case`."""
    fn = load(m.source, m.function)
    if m.file != "exercise3":
        allowed = (
            ninja_spec.allowed_exercise1(m.function)
            if m.file == "exercise1"
            else ninja_spec.allowed_exercise2(m.function)
        )
        value = as_the_grader_sees(call(fn, case.atomic_inputs, allowed))
        floor = case.scale_floor(m.function, case.atomic_grads) if m.file == "exercise1" else 0.0
        return [(m.function, value, case.atomic_grads[m.function], floor)]
    answer = call(fn, case.compact_inputs, ninja_spec.ALLOWED_EXERCISE3)
    grads = split_grads(as_the_grader_sees(answer))
    if isinstance(grads, str):
        raise ValueError(grads)
    return [
        (g, grads[g], case.compact_grads[g], case.scale_floor(g, case.compact_grads))
        for g in ninja_spec.EXERCISE3_GRADS
    ]


def ninja_survives(m: Mutant, every_case) -> bool:
    for case in every_case:
        answers = ninja_answers(m, case)
        for _, value, truth, floor in answers:
            if not judge(value, truth, input_dtype=case.dtype, scale_floor=floor).passed:
                return False
    return True


def ninja_error64(m: Mutant, built) -> float:
    worst = 0.0
    for case in built:
        for _, value, truth, floor in ninja_answers(m, case):
            worst = max(worst, _relative(value, truth, floor))
    return worst


# Layer by layer: every item of the function on every case.


LAYERS = ROOT / "solutions" / "layer-by-layer" / "layers.py"


def lbl_items(function: str) -> list:
    return [i for i in lbl_spec.ITEMS if i.function == function]


def lbl_mutants() -> Iterator[Mutant]:
    public = lbl_cases(public_only=True)
    yield from file_mutants(
        LAYERS,
        lbl_spec.FUNCTIONS,
        lambda f: frozenset().union(*(i.allowed for i in lbl_items(f))),
        lambda f: [c.inputs for i in lbl_items(f) for c in public[i.name]],
    )


def lbl_survives(m: Mutant, every_case) -> bool:
    fn = load(m.source, m.function)
    for item in lbl_items(m.function):
        for case in every_case[item.name]:
            answer = call(fn, case.inputs, item.allowed)
            outcome = Outcome("ok", value=as_the_grader_sees(answer))
            if not judge_module(item, case, outcome).passed:
                return False
    return True


def lbl_error64(m: Mutant) -> float:
    """The error in float64 on the public cases' configurations with other seeds."""
    fn, worst = load(m.source, m.function), 0.0
    for item in lbl_items(m.function):
        for k, cfg in enumerate(lbl_spec.PUBLIC[item.name]):
            inputs, truth = _lbl_case64(item.kind, cfg, 100 + k)
            got = call(fn, inputs)
            got = got if isinstance(got, dict) else {item.grads[0]: got}
            for g in item.grads:
                worst = max(worst, _relative(as_the_grader_sees(got[g]), truth[g], 0.0))
    return worst


def _lbl_case64(kind: str, cfg: dict, seed: int) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    leaves = {
        k: v.double() if torch.is_tensor(v) and v.is_floating_point() else v
        for k, v in lbl_model._leaves(kind, cfg, g).items()
    }
    with torch.no_grad():
        inputs = {**leaves, **lbl_model._forward(kind, leaves)}
    dout = None
    if kind != "cross_entropy":
        dout = inputs["dout"] = torch.randn(inputs["out"].shape, generator=g, dtype=torch.float64)
    inputs["loss"] = inputs["out"] if kind == "cross_entropy" else None
    truth = {k: v.detach() for k, v in lbl_model.autograd(kind, leaves, dout).items()}
    return inputs, truth


def _relative(value, truth: torch.Tensor, floor: float) -> float:
    if not isinstance(value, tuple) or value[0].numel() != truth.numel():
        return float("inf")
    answer = value[0].reshape(truth.shape).double()
    return float((answer - truth).abs().max()) / max(float(truth.abs().max()), floor, 1e-30)


def screen(assignment: str, files: frozenset[str] | None = None) -> tuple[Counter, list[str]]:
    """Counts (made, killed, survived, equivalent) of `assignment`'s mutants (of `files` only,
    when given), and each survivor that is no valid gradient: a slip that earns full points."""
    if assignment == "backprop-ninja":
        every, built = ninja_cases(), [build_case(cfg, True) for cfg in FLOAT64]
        mutants = ninja_mutants(files)
        survives, error64 = (
            (lambda m: ninja_survives(m, every)),
            (lambda m: ninja_error64(m, built)),
        )
    else:
        every = lbl_cases()
        mutants, survives, error64 = lbl_mutants(), (lambda m: lbl_survives(m, every)), lbl_error64
    counts, slips = Counter(), []
    for m in mutants:
        counts["made"] += 1
        try:
            alive = survives(m)
        except Exception:  # noqa: BLE001 - a mutant that raises is killed, as in the grader
            alive = False
        if not alive:
            counts["killed"] += 1
            continue
        counts["survived"] += 1
        error = error64(m)
        if error <= EQUIVALENT:
            counts["equivalent"] += 1
        else:
            slips.append(f"{m.file}.{m.function}: {m.label} (float64 error {error:.2g})")
    return counts, slips


def main() -> int:
    warnings.filterwarnings("ignore")
    failed = False
    for assignment in ("backprop-ninja", "layer-by-layer"):
        counts, slips = screen(assignment)
        named = ("made", "killed", "survived", "equivalent")
        print(f"{assignment}: " + ", ".join(f"{k} {counts[k]}" for k in named))
        for slip in slips:
            print(f"  NOT EQUIVALENT, full points: {slip}")
        failed = failed or bool(slips)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
