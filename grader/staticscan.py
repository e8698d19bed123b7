"""Reading a student's source without running it: autograd use per function, and "did you mean".

The scan is the rule that scores (the worker's run-time tripwires can be undone by the code they
watch). It marks a function when its body, a helper it calls, or module-level code uses
autograd: `backward`, `torch.autograd`, `torch.func`/functorch, `.grad`, or dynamic code that
could hide them (`eval`, `exec`, `__import__`, `importlib`, `getattr` with a computed name).
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field

FORBIDDEN_ATTRS = {
    "backward": "calls backward()",
    "grad": "reads .grad",
    "autograd": "uses torch.autograd",
    "func": "uses torch.func",
    "functorch": "uses functorch",
    "_execution_engine": "calls autograd's engine",
    "run_backward": "calls autograd's engine",
    "grad_fn": "walks the autograd graph",
}
FORBIDDEN_MODULES = ("torch.autograd", "torch.func", "functorch", "torch._functorch")
DYNAMIC = {
    "eval": "uses eval",
    "exec": "uses exec",
    "compile": "uses compile",
    "__import__": "uses __import__",
    "importlib": "uses importlib",
    "globals": "uses globals()",
    "vars": "uses vars()",
}


@dataclass
class Scan:
    """What the source says before it runs."""

    syntax_error: str = ""
    functions: set[str] = field(default_factory=set)
    forbidden: dict[str, str] = field(default_factory=dict)  # function -> reason


def scan(source: str, filename: str = "<student>") -> Scan:
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError) as e:
        return Scan(syntax_error=f"{type(e).__name__}: {e}")
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    aliases = _forbidden_aliases(tree)
    reasons = {name: _reason(node, aliases) for name, node in defs.items()}
    module_level = [n for n in tree.body if not isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    module_reason = next(
        (r for n in module_level if (r := _reason(n, aliases, imports_ok=True))), ""
    )
    calls = {name: _names_used(node) & defs.keys() for name, node in defs.items()}
    forbidden = {}
    for name in defs:
        reason = module_reason and f"module-level code {module_reason}"
        reason = reason or _through_helpers(name, reasons, calls)
        if reason:
            forbidden[name] = reason
    functions = {n for n, d in defs.items() if isinstance(d, ast.FunctionDef)}
    return Scan(functions=functions, forbidden=forbidden)


def _forbidden_aliases(tree: ast.Module) -> dict[str, str]:
    """Names bound at import to autograd's pieces, e.g. `from torch.autograd import grad as g`."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(FORBIDDEN_MODULES):
                for a in node.names:
                    aliases[a.asname or a.name] = f"imports from {node.module}"
            elif node.module == "torch":
                for a in node.names:
                    if a.name in ("autograd", "func"):
                        aliases[a.asname or a.name] = f"uses torch.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith(FORBIDDEN_MODULES):
                    aliases[a.asname or a.name.split(".")[0]] = f"imports {a.name}"
    return aliases


def _reason(node: ast.AST, aliases: dict[str, str], imports_ok: bool = False) -> str:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in FORBIDDEN_ATTRS:
            return FORBIDDEN_ATTRS[sub.attr]
        if isinstance(sub, ast.Name) and sub.id in aliases:
            return aliases[sub.id]
        if isinstance(sub, ast.Name) and sub.id in DYNAMIC:
            return DYNAMIC[sub.id]
        if isinstance(sub, (ast.Import, ast.ImportFrom)):
            mods = (
                [a.name for a in sub.names] if isinstance(sub, ast.Import) else [sub.module or ""]
            )
            if any(m.startswith(FORBIDDEN_MODULES) or m == "importlib" for m in mods):
                return f"imports {mods[0]}"
        if isinstance(sub, ast.Call) and _computed_getattr(sub):
            return "uses getattr/setattr with a computed name"
        if _names_forbidden(sub):
            return f"names {sub.value!r}"
    return ""


def _names_forbidden(node: ast.AST) -> bool:
    """A string such as "backward" or "torch.autograd", the makings of a hidden getattr."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    return node.value in FORBIDDEN_ATTRS or node.value.startswith(FORBIDDEN_MODULES)


def _computed_getattr(call: ast.Call) -> bool:
    if not (isinstance(call.func, ast.Name) and call.func.id in ("getattr", "setattr", "delattr")):
        return False
    return len(call.args) < 2 or not isinstance(call.args[1], ast.Constant)


def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _through_helpers(name: str, reasons: dict[str, str], calls: dict[str, set[str]]) -> str:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if reasons.get(current):
            where = "" if current == name else f" (through `{current}`)"
            return reasons[current] + where
        todo.extend(calls.get(current, ()))
    return ""


def did_you_mean(missing: str, defined: set[str]) -> str:
    """`dlogits_maxes` -> "did you mean `dlogit_maxes`?" when a defined name is close."""
    close = difflib.get_close_matches(missing, sorted(defined), n=1, cutoff=0.75)
    return f"did you mean `{close[0]}`?" if close else ""
