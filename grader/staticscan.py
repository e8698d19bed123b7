"""Reading a student's source without running it: autograd use per function, and "did you mean".

The scan is the rule that scores (the worker's run-time tripwires can be undone by the code they
watch). It marks a function when its body, a helper it refers to, or module-level code uses
autograd: `backward`, `torch.autograd`, `torch.func`/functorch, `.grad`, or dynamic code that
could hide them (`eval`, `exec`, `__import__`, `importlib`, `getattr` with a computed name,
`operator.attrgetter`). Only that function scores 0: a parameter that merely shares a function's
name (every upstream gradient does) is not a reference to it.
"""

from __future__ import annotations

import ast
import symtable
from dataclasses import dataclass, field

from .student_text import did_you_mean  # noqa: F401 - its home is the student's words

# Most specific first: `torch.func.grad` is reported as torch.func, not as reading `.grad`.
FORBIDDEN_ATTRS = {
    "autograd": "uses torch.autograd",
    "func": "uses torch.func",
    "functorch": "uses functorch",
    "_execution_engine": "calls autograd's engine",
    "run_backward": "calls autograd's engine",
    "backward": "calls backward()",
    "grad_fn": "walks the autograd graph",
    "grad": "reads .grad",
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
# Ways to reach an attribute by a computed name, as a bare name or through their module.
DYNAMIC_ATTRS = {
    "attrgetter": "uses operator.attrgetter",
    "methodcaller": "uses operator.methodcaller",
    "__getattribute__": "uses __getattribute__",
    # Introspection reaches any object by a computed name (`torch.__dict__[chr(...)...]`): a
    # gradient formula never needs it, and the run-time tripwires can be switched off from it.
    **{
        attr: f"uses introspection (`{attr}`)"
        for attr in (
            "__dict__",
            "__class__",
            "__mro__",
            "__subclasses__",
            "__bases__",
            "__globals__",
            "__builtins__",
            "__code__",
            "__closure__",
            "f_locals",
            "f_globals",
            "f_back",
            "tb_frame",
            "gi_frame",
            "_getframe",
            "currentframe",
            "modules",
            "get_objects",
            "get_referrers",
            "FunctionType",
            "CodeType",
            "_C",
        )
    },  # fmt: skip
}
# Modules whose only use in a gradient would be to get around the rules above.
INTROSPECTION_MODULES = ("ctypes", "runpy", "pickle", "marshal", "types", "inspect", "gc", "dill")


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
    module_level = [
        n
        for n in tree.body
        if not isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not _main_block(n)
    ]
    module_reason = next(
        (r for n in module_level if (r := _reason(n, aliases, imports_ok=True))), ""
    )
    uses = _module_references(tree, source, filename, defs)
    forbidden = {}
    for name in defs:
        reason = module_reason and f"module-level code {module_reason}"
        reason = reason or _through_helpers(name, reasons, uses)
        if reason:
            forbidden[name] = reason
    functions = {n for n, d in defs.items() if isinstance(d, ast.FunctionDef)}
    return Scan(functions=functions, forbidden=forbidden)


def _main_block(node: ast.AST) -> bool:
    """`if __name__ == "__main__":` never runs when the grader imports the file: a student's own
    autograd self-check there (the lecture's `cmp` checks) is allowed."""
    if not (isinstance(node, ast.If) and not node.orelse):
        return False
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def _forbidden_aliases(tree: ast.Module) -> dict[str, str]:
    """Names bound at import to autograd's pieces, e.g. `from torch.autograd import grad as g`.

    `import torch.autograd` binds only `torch`, which every solution uses; its uses of autograd
    are caught by the attribute (`torch.autograd...`), so the root is no alias.
    """
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
            elif node.module.split(".")[0] in INTROSPECTION_MODULES:
                for a in node.names:
                    aliases[a.asname or a.name] = f"imports from {node.module}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith(FORBIDDEN_MODULES) and (a.asname or "." not in a.name):
                    aliases[a.asname or a.name] = f"imports {a.name}"
                if a.name.split(".")[0] in INTROSPECTION_MODULES:
                    aliases[a.asname or a.name.split(".")[0]] = f"imports {a.name}"
    return aliases


def _module_references(
    tree: ast.Module, source: str, filename: str, defs: dict[str, ast.AST]
) -> dict[str, set[str]]:
    """For each module-level name, the module-level names its definition refers to.

    A function refers to a global only where Python's own scoping says so (symtable): a
    parameter or local that shares a function's name, as every upstream gradient in exercise 1
    does, is no reference. Names bound by other module-level statements (`h = helper`) refer to
    whatever their statement mentions, so an alias cannot hide a helper. A string equal to a
    function's name counts too (`getattr(module, "helper")`).
    """
    uses: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            continue
        bound = {
            n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        bound |= _imported(node)
        for name in bound:
            uses.setdefault(name, set()).update(_names_used(node) | _strings(node))
    try:
        tables = symtable.symtable(source, filename, "exec").get_children()
    except SyntaxError:  # compiles no further than ast: refer to every name, to be safe
        tables = []
    by_line = {(name, node.lineno): name for name, node in defs.items()}
    for name, node in defs.items():
        uses[name] = _names_used(node) | _strings(node)  # the fallback, narrowed below
    for table in tables:
        name = by_line.get((table.get_name(), table.get_lineno()))
        if name is not None:
            uses[name] = _globals_referenced(table) | _strings(defs[name])
    return uses


def _globals_referenced(table: symtable.SymbolTable) -> set[str]:
    names = {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        names |= _globals_referenced(child)
    return names


def _imported(node: ast.AST) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _reason(node: ast.AST, aliases: dict[str, str], imports_ok: bool = False) -> str:
    attrs = {sub.attr for sub in ast.walk(node) if isinstance(sub, ast.Attribute)}
    for attr, reason in {**FORBIDDEN_ATTRS, **DYNAMIC_ATTRS}.items():
        if attr in attrs:
            return reason
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in DYNAMIC_ATTRS:
            return DYNAMIC_ATTRS[sub.id]
        if isinstance(sub, ast.Name) and sub.id in aliases:
            return aliases[sub.id]
        if isinstance(sub, ast.Name) and sub.id in DYNAMIC:
            return DYNAMIC[sub.id]
        if isinstance(sub, (ast.Import, ast.ImportFrom)) and not imports_ok:
            mods = (
                [a.name for a in sub.names] if isinstance(sub, ast.Import) else [sub.module or ""]
            )
            if any(
                m.startswith(FORBIDDEN_MODULES)
                or m == "importlib"
                or m.split(".")[0] in INTROSPECTION_MODULES
                for m in mods
            ):
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


def _through_helpers(name: str, reasons: dict[str, str], uses: dict[str, set[str]]) -> str:
    """The reason of the first forbidden function `name` reaches through the names it uses."""
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if reasons.get(current):
            where = "" if current == name else f" (through `{current}`)"
            return reasons[current] + where
        todo.extend(uses.get(current, ()))
    return ""
