"""What the grader keeps of a notebook's code: one rule, for the grader and the notebook's check.

The grader never runs a notebook. Of each code cell it keeps imports, function and class
definitions and constants (`EPS = 1e-5`), and drops the rest (notebook.py). The notebook's check
cells read the cells their kernel ran with the same reader (notebook.read_history), so they
judge what the grader will judge; where a function then misses a global the kernel has
(`EPS = float('1e-5')`, a tensor left by the forward pass), `why_undefined` replays this rule
over the kernel's cells to say which statement set it and why the grader leaves it out.

Standard library only: it ships in the student's notebook.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable

from .student_text import grader_has

# `# <assignment name>: setup`, the first line of an assignment notebook's own cells.
SETUP_MARK = re.compile(r"#\s*[\w.-]+:\s*setup\b")


def keep(node: ast.stmt, gradient: set[str], constants: set[str]) -> str | None:
    """A label for a statement the module keeps, "missing-import", or None to drop it.

    `gradient`: the names of graded functions (a top-level `dlogprobs = ...` is the lecture's
    style, never a constant); `constants`: the names kept so far (earlier constants, imports).
    """
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"def {node.name}"
    if isinstance(node, ast.ClassDef):
        return f"class {node.name}"
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        if getattr(node, "level", 0):
            return None  # a notebook is not a package: a relative import cannot work
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        if not all(installed(m or "") for m in modules):
            return "missing-import"
        return "import " + ", ".join(m or "" for m in modules)
    targets = assigned(node)
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
    if targets and value is not None and not targets & gradient and constant(value, constants):
        return "constant " + ", ".join(sorted(targets))
    return None


def learn(node: ast.stmt, constants: set[str]) -> None:
    """Add the names a kept statement makes available to later constants."""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        constants.update(assigned(node))
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        constants.update((a.asname or a.name).split(".")[0] for a in node.names)


def installed(module: str) -> bool:
    """A module the grader has for student code: the same answer in the grader and in a
    student's kernel, whatever else either has installed (student_text.grader_has)."""
    return grader_has(module)


def assigned(node: ast.stmt) -> set[str]:
    """The plain names a statement assigns (`a = b = 1`, `a, b = 1, 2`); empty for anything else."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return set()
    names: set[str] = set()
    for t in targets:
        elts = t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]
        if not all(isinstance(e, ast.Name) for e in elts):
            return set()
        names.update(e.id for e in elts)
    return names


def constant(node: ast.expr, constants: set[str]) -> bool:
    """Literals, containers of them, arithmetic on them, names of earlier constants and imports,
    and attributes of those (`F = torch.nn.functional`, `dtype = torch.float32`)."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants
    if isinstance(node, ast.Attribute):
        return constant(node.value, constants)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(constant(e, constants) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and constant(k, constants) for k in node.keys) and all(
            constant(v, constants) for v in node.values
        )
    if isinstance(node, ast.UnaryOp):
        return constant(node.operand, constants)
    if isinstance(node, ast.BinOp):
        return constant(node.left, constants) and constant(node.right, constants)
    return False


# --- the notebook's check ---------------------------------------------------------------------


def dropped_globals(cells: Iterable[object], gradient: set[str]) -> dict[str, str]:
    """The globals a kernel that ran `cells` (in that order: IPython's history) has and the
    grader's module lacks, each with where it was last set.

    A global bound only by statements the grader drops, or by the assignment's own setup cells
    (which the grader never reads), is one the grader's module lacks. One the grader keeps a
    binding of stays, whatever the kernel did to it later (`total = 0` kept, then `total += 1`).
    """
    constants: set[str] = set()
    kept: set[str] = set()
    dropped: dict[str, str] = {}
    for text in cells:
        if not isinstance(text, str):
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        setup = bool(SETUP_MARK.match(text.lstrip()))
        lines = re.split(r"\r\n|\r|\n", text)  # where Python ends a line: not at \f or \v
        for node in tree.body:
            names = bound(node)
            kind = None if setup else keep(node, gradient, constants)
            if kind and kind != "missing-import":
                learn(node, constants)
                kept |= names
                for name in names:
                    dropped.pop(name, None)
                continue
            where = f"`{lines[node.lineno - 1].strip()[:60]}`"
            for name in names - kept:
                dropped[name] = "the assignment's own cell" if setup else where
    return dropped


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def bound(node: ast.stmt) -> set[str]:
    """Every module-level name a top-level statement binds, however (a loop's target, `with ...
    as`, `+=`, an import, a walrus); not the names local to a function, class or comprehension."""
    if isinstance(node, _DEFINITIONS):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    names: set[str] = set()
    todo: list[ast.AST] = [node]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, _DEFINITIONS):
            names.add(n.name)  # defined inside an if or a loop: bound, its body is not
            continue
        elif isinstance(n, ast.ExceptHandler) and n.name:
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names |= bound(n)
        elif isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            names.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            names.add(n.rest)
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            # their targets are their own; a walrus inside still binds the module's name
            names |= {w.target.id for w in ast.walk(n) if isinstance(w, ast.NamedExpr)}
            continue
        todo.extend(ast.iter_child_nodes(n))
    return names


_UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def why_undefined(said: str, cells: Iterable[object], gradient: set[str]) -> list[str]:
    """A note for each name a NameError in `said` (the check's results, as text) names that the
    kernel has and the grader's module lacks: which statement set it, and what to do."""
    names = sorted(set(_UNDEFINED.findall(said)))
    dropped = dropped_globals(cells, gradient) if names else {}
    return [_why(name, dropped[name]) for name in names if name in dropped]


def _why(name: str, statement: str) -> str:
    if statement.startswith(("`import ", "`from ")):  # kept where installed, as the grader's are
        return (
            f"{name} is set by {statement}, a module the grader does not have: it runs your "
            "code with Python's standard library, torch and numpy only (your kernel has more); "
            "write it with torch"
        )
    return (
        f"{name} is set by {statement}, which the grader does not run: it keeps only "
        "imports, functions, classes and constants written as literals (`EPS = 1e-5`); take "
        "the value as an argument or write it as a literal"
    )


def torch_set_aside(names: list[str], shown: int = 4) -> str:
    """The note for what a kernel's cells changed in torch (check_process.KernelTorch)."""
    if names[shown:]:
        listed = ", ".join(names[:shown]) + f" and {len(names) - shown} more"
    else:
        listed = " and ".join([", ".join(names[:-1]), names[-1]] if names[1:] else names)
    return (
        f"a cell this kernel ran changed {listed}, and the grader, which runs no statement of "
        "a cell but definitions, imports and constants, never meets that change: this check "
        "ran your functions without it too (to be rid of it here as well, delete the "
        "statement and restart the kernel)"
    )
