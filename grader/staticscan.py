"""Reading a student's source without running it: autograd use per name, and "did you mean".

The scan is the second layer against autograd: the first takes autograd out of every student
process before student code runs (sandbox/inside/noautograd.py), and the scan names the call in
the student's terms before anything runs, even where that first layer is missing. It reads the
text that runs: the pipeline decodes a file as Python would (PEP 263) and refuses any declared
encoding but UTF-8, and the scan refuses a text whose own coding line would make Python decode
it differently once written as UTF-8.

What is forbidden: `backward`, `torch.autograd`, `torch.func`/functorch, `.grad`, backward
kernels (`*_backward`), and dynamic access that could hide them, bare or under another name
(`eval`, `exec`, `compile`, `__import__`, `importlib`, `globals`, `vars`, `locals`, `builtins`,
`operator.attrgetter`, `getattr`/`setattr`/`delattr` other than called with a literal name (a
literal name is judged as the attribute it names), a
module importing itself, introspection such as `__dict__`, Python's breakpoint hook). A leftover
`breakpoint()` is not one: it fails where it runs, with a message saying to remove it.

Who pays (the rule, also in docs/threat-model.md):
- Import-time code is everything Python runs when it imports the file: top-level statements,
  class bodies, decorators, default values, and an `if __name__ == "__main__":` block unless
  nothing in the file can rebind `__name__`. If import-time code contains a forbidden construct
  or calls, reads or passes anything that reaches one, every name of the file is forbidden (the
  import could have rebound any function, under any name).
- Otherwise each name the module binds (a `def`, a class, an assignment, a lambda, an import, a
  `global` assignment inside a function) is forbidden when the code it can reach is: its own
  body, the helpers and globals it refers to (Python's own scoping, so a parameter named like a
  function is no reference), whatever the statements binding or mutating a global put in it,
  and any function that rebinds it with `global`. Forbidden functions are never called, so they
  cannot rebind anything at run time; names bound only dynamically need a forbidden construct.
- A file the scan cannot read at all (a 100,000-deep expression: RecursionError, MemoryError)
  costs that file's items, with a message, never the rest of the submission.
"""

from __future__ import annotations

import ast
import codecs
import collections
import io
import itertools
import re
import symtable
import tokenize
from dataclasses import dataclass, field

from .python_syntax import newer_syntax
from .student_text import did_you_mean  # noqa: F401 - its home is the student's words

# Most specific first: `torch.func.grad` is reported as torch.func, not as reading `.grad`.
FORBIDDEN_ATTRS = {
    "autograd": "uses torch.autograd",
    "func": "uses torch.func",
    "functorch": "uses functorch",
    "_functorch": "uses functorch",
    "_dynamo": "uses torch's compiler (its autograd)",
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
    "locals": "uses locals()",
}
# Ways to reach an attribute by a computed name, as a bare name or through their module.
DYNAMIC_ATTRS = {
    "attrgetter": "uses operator.attrgetter",
    "methodcaller": "uses operator.methodcaller",
    "__getattribute__": "uses __getattribute__",
    "__getattr__": "uses __getattr__",
    "__setattr__": "uses __setattr__",
    "__delattr__": "uses __delattr__",
    # breakpoint() itself is a student's leftover, refused where it runs (no debugger: an error
    # saying to remove it, as the public check says); Python's own hook, which would import the
    # module PYTHONBREAKPOINT names, is reached only through these.
    "breakpointhook": "uses sys.breakpointhook",
    "__breakpointhook__": "uses sys.__breakpointhook__",
    # Introspection reaches any object by a computed name (`torch.__dict__[chr(...)...]`): a
    # gradient formula never needs it, and it is how a student would try to undo the run-time ban.
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
            # Raw memory from Python: numpy's array interface at a chosen address reads and
            # writes any byte of the process, the audit hook's included (docs/threat-model.md).
            "__array_interface__",
            "__array_struct__",
            "ctypeslib",
        )
    },  # fmt: skip
}
# Modules whose only use in a gradient would be to get around the rules above.
INTROSPECTION_MODULES = (
    "ctypes",
    "runpy",
    "code",  # an interpreter that runs a string: exec under another name
    "codeop",
    "pickle",
    "marshal",
    "types",
    "inspect",
    "gc",
    "dill",
    "builtins",
)


@dataclass
class Scan:
    """What the source says before it runs."""

    syntax_error: str = ""
    functions: set[str] = field(default_factory=set)
    forbidden: Forbidden = field(default_factory=lambda: Forbidden())  # name -> reason
    commented: dict[str, CommentedDef] = field(default_factory=dict)  # `commented_defs`


class Forbidden(dict):
    """Name -> why it is forbidden. With `everything` set (import-time code reached a forbidden
    construct), every name is forbidden for that reason, even one bound under a computed name."""

    def __init__(self, reasons: dict[str, str] | None = None, everything: str = "") -> None:
        super().__init__(reasons or {})
        self.everything = everything

    def __contains__(self, name: object) -> bool:
        return bool(self.everything) or super().__contains__(name)

    def __missing__(self, name: str) -> str:
        if self.everything:
            return self.everything
        raise KeyError(name)


# Builtins reaching an attribute by a name given at run time; only `f(obj, "literal")` is fine.
ATTR_BUILTINS = ("getattr", "setattr", "delattr", "hasattr")


def scan(source: str, filename: str = "<student>") -> Scan:
    try:
        result = _scan(source, filename)
    except (RecursionError, MemoryError) as e:
        return Scan(
            syntax_error=f"it is nested too deeply for the grader to read ({type(e).__name__}); "
            "split the deep expression into smaller statements"
        )
    result.commented = commented_defs(source)
    return result


@dataclass(frozen=True)
class CommentedDef:
    """A `def` line that is a comment (`# def dlogprobs(logprobs, Yb, n):`): where it is, and
    whether the comment's run of lines opens with a cell magic (`# %%time`), as a notebook's
    Download .py writes a cell it cannot run as Python."""

    line: int
    magic: bool


# A function's `def` commented out (its line holding nothing before the `#`: checked apart, as
# a pattern anchored at every line start cost 0.5 ms on the solutions' exercise1.py, where one
# led by the `#` is found by a scan for that character), and a cell magic commented out. At
# most MAX_COMMENTED_DEFS commented defs are looked at in one file (a name's first one counts).
_COMMENTED_DEF = re.compile(r"#[ \t]*def[ \t]+([A-Za-z_]\w*)[ \t]*\(")
_COMMENTED_MAGIC = re.compile(r"[ \t]*#[ \t]*%%\w")
MAX_COMMENTED_DEFS = 200


def commented_defs(source: str) -> dict[str, CommentedDef]:
    """The functions whose `def` line is commented out, for the message of one missing: Colab's
    Download .py comments out every line of a `%%time` cell (`# %%time`, `# def dlogprobs(...`),
    and such an export submitted as an exercise file was told only "no function `dlogprobs`",
    its definition in plain sight. One pass of a regular expression; the lines above a hit are
    looked at back to the first that is no comment."""
    found: dict[str, CommentedDef] = {}
    line, at = 1, 0
    for seen, m in enumerate(_COMMENTED_DEF.finditer(source)):
        if seen == MAX_COMMENTED_DEFS:
            break
        begin = source.rfind("\n", 0, m.start()) + 1
        if source[begin : m.start()].strip(" \t") or m.group(1) in found:
            continue  # `x = 1  # def f(`: a comment after code, no definition
        line += source.count("\n", at, begin)
        at = begin
        found[m.group(1)] = CommentedDef(line, _under_a_magic(source, begin))
    return found


def _under_a_magic(source: str, start: int, most: int = 200) -> bool:
    """Whether the comment lines just above `start` reach a `# %%` cell magic (at most `most`
    lines up) with no empty line between: that magic's cell is the one the `def` is in. A
    notebook's Download .py writes a blank line after each cell and `# ` for an empty line
    inside a commented one, so an empty line ends the magic's cell: a `def` commented out by
    hand in the cell below a `%%time` cell was said commented out by the magic."""
    end = start
    for _ in range(most):
        if end == 0:
            return False
        begin = source.rfind("\n", 0, end - 1) + 1
        text = source[begin : end - 1] if source[end - 1] == "\n" else source[begin:end]
        if _COMMENTED_MAGIC.match(text):
            return True
        if not text.lstrip().startswith("#"):
            return False  # code, or an empty line: the end of a cell above this one
        end = begin
    return False


def _walk(node: ast.AST) -> list[ast.AST]:
    """`ast.walk` as a list, remembered for the scan in progress: the scan asks the same
    statements many questions, and a megabyte of source must cost seconds, not minutes. The
    cache holds its nodes alive, so an id is never reused while it is there."""
    walked = _WALKS.get(id(node))
    if walked is None:
        walked = _WALKS[id(node)] = list(ast.walk(node))
    return walked


_WALKS: dict[int, list[ast.AST]] = {}
_IMPORT_TIME: dict[int, tuple[ast.AST, list[ast.AST]]] = {}  # id -> (node, kept alive; nodes)


def _scan(source: str, filename: str) -> Scan:
    try:
        return _scan_tree(source, filename)
    finally:
        _WALKS.clear()
        _IMPORT_TIME.clear()


# A line only IPython runs: a magic, a shell escape or help (`%matplotlib inline`, `!pip install
# torch`, `F.one_hot?`), as a notebook copied or exported (Colab's Download .py) into a .py file.
# Help ends in `?` after a name alone, as IPython reads it: a docstring left open on `"""Why n-1?`
# or a typo `x]]?` was told it was an IPython command.
_IPYTHON_LINE = re.compile(r"^\s*(?:[%!?]|[A-Za-z_][\w.]*\?{1,2}\s*$)")


def _offending_line(source: str, error: SyntaxError | ValueError) -> str:
    """The line that does not parse, and what to do when it is a notebook's command: "invalid
    syntax" at `!pip install torch` told a student who never wrote such Python neither why nor
    what to do.
    The line is the source's own: a SyntaxError's `text` is read from a file of the same name on
    disk when there is one (the stub beside check.py)."""
    number = getattr(error, "lineno", None)
    lines = re.split(r"\r\n|\r|\n", source)
    text = lines[number - 1] if isinstance(number, int) and 0 < number <= len(lines) else ""
    # The student's own characters, shown in one line of the page: a U+2028 or an RLO override in
    # it broke the line ('Score: 100/100' on a line of its own) or turned the page's words around.
    shown = "".join(c if c.isprintable() else "?" for c in text.strip()[:60])
    if not _IPYTHON_LINE.search(text):
        # Python's own message shows the line; "expected ':' (exercise1.py, line 58)" alone sent
        # a student on Gradescope, with no traceback, to count lines.
        cut = "..." if len(text.strip()) > 60 else ""
        return f"; line {number} reads `{shown}{cut}`" if shown.strip() else ""
    return (
        f"; `{shown}` is an IPython command, which only a notebook runs: remove it "
        "from the .py file (or submit the notebook itself)"
    )


# Pieces of syntax (AST nodes) the scan reads in one file. The reference solutions hold under
# 700; the scan asks each statement a dozen questions, and a file of `file_bytes` (256 KiB) of
# `x` or `f()` lines, 100,000 statements, cost the grader's own process 3 to 4 s (three such
# files, a few KB zipped, 13 s). At the bound a file costs well under a second, whatever its shape.
MAX_NODES = 50_000


def _more_nodes_than(tree: ast.AST, most: int) -> bool:
    """Whether `tree` holds more than `most` nodes. A character of source makes at most two
    (`-x`, `a+b`), so a source of `most // 3` characters cannot, and is not walked for it: the
    count cost every submission ~0.5 ms, several percent of the scan."""
    return sum(1 for _ in itertools.islice(ast.walk(tree), most + 1)) > most


def _scan_tree(source: str, filename: str) -> Scan:
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError) as e:
        return Scan(syntax_error=f"{type(e).__name__}: {e}{_offending_line(source, e)}")
    if len(source) > MAX_NODES // 3 and _more_nodes_than(tree, MAX_NODES):
        return Scan(
            syntax_error=f"it holds more than {MAX_NODES:,} pieces of Python syntax, more than "
            "the grader reads in one file (the assignment's own files hold under 1,000): "
            "leave out what the gradient functions do not need"
        )
    newer = newer_syntax(source)
    if newer:  # parses here (Colab's 3.12), not in the grader's Python: refused in both
        return Scan(syntax_error=f"SyntaxError: {newer}")
    coding = declared_encoding(source.encode("utf-8", "surrogatepass"))
    if coding:
        return Scan(syntax_error=coding)
    module = filename.removesuffix(".py")
    main_runs = _rebinds_name(tree)
    body = [n for n in tree.body if main_runs or not _main_block(n)]
    defs = {
        n.name: n
        for n in body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    aliases = _forbidden_aliases(tree, module)
    reasons = {name: _reason(node, aliases) for name, node in defs.items()}
    uses = _module_references(tree, source, filename, defs)
    import_time: list[ast.AST] = []
    bound_names: set[str] = set(defs)
    def_ids = {id(d) for d in defs.values()}
    statements: list[Statement] = []
    for node in body:
        if id(node) in def_ids:
            import_time.extend(_import_time_parts(node))
            continue
        import_time.append(node)
        bound, touched = _bound(node), _touched(node)
        bound_names |= bound - _imported(node)
        # Each name the statement binds or touches uses all the statement uses: one shared
        # record, not a copy per name (`print(a0, ..., a5999)` would hold 36 million entries).
        statements.append(Statement(bound | touched, _names_used(node) | _strings(node)))
        later = _reason_of_function_code(node, aliases)
        for name in bound | touched:
            if later and not reasons.get(name):
                reasons[name] = later
    for name in _imported_names(tree):
        if name in aliases:
            reasons.setdefault(name, aliases[name])
    for rebound, by in _global_rebinds(defs).items():
        uses.setdefault(rebound, set()).update(by)
    named = _reaching(reasons, uses, statements)
    everything = _import_time_reason(import_time, aliases, named)
    if everything:
        named = {n: everything for n in bound_names}
    functions = {
        n for n, d in defs.items() if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    return Scan(functions=functions, forbidden=Forbidden(named, everything))


def declared_encoding(data: bytes) -> str:
    """Why Python would read other text from these bytes than their UTF-8 decoding, or "".

    The scan reads UTF-8, and the student process writes and imports that text as UTF-8; Python
    honours a `# -*- coding: ... -*-` line (PEP 263) in the first two lines, so a declaration
    under which the bytes decode differently (utf-7's `+AAo-` or unicode_escape's `\\n` are
    newlines to Python, harmless characters to UTF-8) would run code nobody read: refused. A
    declaration under which they decode the same (latin-1 over plain ASCII) changes nothing.
    Only the few codecs of `_COMPARED` are tried: any other declaration is refused unread, since
    decoding under an arbitrary codec may cost anything (punycode's decoder is quadratic: a
    megabyte took 35 s).
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:
        return f"its encoding cannot be read ({e.msg}); save it as UTF-8 without a coding line"
    codec = codecs.lookup(encoding).name
    if codec in ("utf-8", "utf-8-sig"):
        return ""
    try:
        if codec in _COMPARED and data.decode(codec) == data.decode("utf-8"):
            return ""
    except UnicodeError:
        pass
    return (
        f"it declares the encoding {encoding!r} (a `coding:` comment in its first two lines), "
        "under which Python reads other code than the UTF-8 text the grader checks; save it as "
        "UTF-8 and remove that line"
    )


# The declarations worth comparing (`codecs.lookup` names), each decoded in linear time: the
# ones an editor writes for Western text (latin-1, cp1252, latin-9), ascii, and utf-7 (over
# text without `+`, it reads as ASCII).
_COMPARED = ("ascii", "iso8859-1", "cp1252", "iso8859-15", "utf-7")


def _import_time_reason(nodes: list[ast.AST], aliases: dict[str, str], named: dict) -> str:
    """Why code run at import is forbidden: a construct of its own, or one it reaches."""
    for node in nodes:
        reason = _reason(_import_time_nodes(node), aliases, imports_ok=True)
        if reason:
            return f"module-level code {reason}"
    for node in nodes:
        for name in sorted(_names_read(_import_time_nodes(node))):
            if name in named:
                return f"module-level code reaches `{name}`, which {named[name]}"
    return ""


def _import_time_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a def or class that run at import: decorators, defaults, annotations, bases,
    and a class body's statements (its methods' own bodies run only when called)."""
    parts: list[ast.AST] = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        parts += node.bases + [k.value for k in node.keywords]
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                parts += _import_time_parts(stmt)
            else:
                parts.append(stmt)
        return parts
    a = node.args
    parts += [d for d in a.defaults + a.kw_defaults if d is not None]
    parts += [x.annotation for x in a.posonlyargs + a.args + a.kwonlyargs if x.annotation]
    parts += [x.annotation for x in (a.vararg, a.kwarg) if x is not None and x.annotation]
    if node.returns is not None:
        parts.append(node.returns)
    return parts


_FUNCTION_CODE = (ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef)


def _import_time_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of an import-time statement, breadth first, minus the bodies of its lambdas
    and defs: those run later, when called (their defaults and decorators run now)."""
    walked = _IMPORT_TIME.get(id(node))
    if walked is not None:
        return walked[1]
    out: list[ast.AST] = []
    todo = collections.deque([node])
    while todo:
        n = todo.popleft()
        out.append(n)
        for name, value in ast.iter_fields(n):
            if name == "body" and isinstance(n, _FUNCTION_CODE):
                continue
            if isinstance(value, list):
                todo.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                todo.append(value)
    _IMPORT_TIME[id(node)] = (node, out)
    return out


def _reason_of_function_code(node: ast.AST, aliases: dict[str, str]) -> str:
    """The reason of the lambda and def bodies inside a statement (they run when called).

    Only the outermost ones are judged: each judgement reads its whole subtree, nested ones
    included, so judging those again finds nothing new and made `lambda: lambda: ...` 2,900
    deep cost 11 s. The first outermost one with a reason, in `ast.walk`'s order, is the first
    function of all with one: an inner one's constructs are its outer one's too."""
    for n in _outermost_functions(node):
        reason = _reason(n, aliases)
        if reason:
            return reason
    return ""


def _outermost_functions(node: ast.AST) -> list[ast.AST]:
    """The lambdas and defs of `node` inside no other one, breadth first as `ast.walk` meets
    them (each subtree read once: linear in the statement)."""
    out: list[ast.AST] = []
    todo = collections.deque([node])
    while todo:
        n = todo.popleft()
        if isinstance(n, _FUNCTION_CODE):
            out.append(n)
        else:
            todo.extend(ast.iter_child_nodes(n))
    return out


def _bound(node: ast.AST) -> set[str]:
    """Names a module-level statement binds (assignments, loops, imports, nested defs)."""
    names = {
        n.id for n in _walk(node) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }
    names |= {
        n.name
        for n in _walk(node)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    return names | _imported(node)


def _touched(node: ast.AST) -> set[str]:
    """Names whose objects a statement may change at import: a store or delete through them
    (`C.f = helper`, `table[0] = helper`), a method called on them, or passing them to a call."""
    names: set[str] = set()
    for n in _import_time_nodes(node):
        if isinstance(n, (ast.Attribute, ast.Subscript)) and not isinstance(n.ctx, ast.Load):
            names |= _root(n)
        elif isinstance(n, ast.Call):
            if isinstance(n.func, ast.Attribute):
                names |= _root(n.func.value)
            for arg in n.args + [k.value for k in n.keywords]:
                names |= _root(arg)
    return names


def _root(node: ast.AST) -> set[str]:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return {node.id} if isinstance(node, ast.Name) else set()


def _names_read(nodes: list[ast.AST]) -> set[str]:
    return {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _imported_names(tree: ast.Module) -> set[str]:
    return {name for n in tree.body for name in _imported(n)}


def _global_rebinds(defs: dict[str, ast.AST]) -> dict[str, set[str]]:
    """For each global a function rebinds (`global dprobs; dprobs = ...`), those functions."""
    rebinds: dict[str, set[str]] = {}
    for name, node in defs.items():
        for n in _walk(node):
            if isinstance(n, ast.Global):
                for g in n.names:
                    rebinds.setdefault(g, set()).add(name)
    return rebinds


def _main_block(node: ast.AST) -> bool:
    """`if __name__ == "__main__":` never runs when the grader imports the file: a student's own
    autograd self-check there (the lecture's `cmp` checks) is allowed, as long as nothing in the
    file can rebind `__name__` (see `_rebinds_name`)."""
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


def _rebinds_name(tree: ast.Module) -> bool:
    """True when anything in the file could set `__name__`: then a `__main__` block may run.

    Dynamic routes (globals(), vars(), sys.modules, setattr with a computed name) are forbidden
    constructs of their own; this catches the plain ones, and any mention of `__name__` other
    than reading it.
    """
    docstrings = {id(n.value) for n in _walk(tree) if _bare_string(n)}
    return any(_sets_name(n) for n in _walk(tree) if id(n) not in docstrings)


def _sets_name(n: ast.AST) -> bool:
    if isinstance(n, (ast.Name, ast.Attribute)) and not isinstance(n.ctx, ast.Load):
        return "__name__" in (getattr(n, "id", None), getattr(n, "attr", None))
    if isinstance(n, (ast.Global, ast.Nonlocal)):
        return "__name__" in n.names
    if isinstance(n, ast.alias):
        return "__name__" in (n.asname, n.name)
    if isinstance(n, ast.arg):
        return n.arg == "__name__"
    if isinstance(n, ast.Constant):
        return isinstance(n.value, str) and "__name__" in n.value
    # def/class __name__, `except E as __name__`, match captures
    return "__name__" in (getattr(n, "name", None), getattr(n, "rest", None))


def _forbidden_aliases(tree: ast.Module, module: str = "") -> dict[str, str]:
    """Names bound at import to autograd's pieces or to dynamic access, e.g.
    `from torch.autograd import grad as g`, `from operator import attrgetter as a`,
    `import importlib as il`, or the student's own module imported by itself.

    `import torch.autograd` binds only `torch`, which every solution uses; its uses of autograd
    are caught by the attribute (`torch.autograd...`), so the root is no alias.
    """
    dynamic = {**DYNAMIC, **DYNAMIC_ATTRS, **{b: f"uses {b} indirectly" for b in ATTR_BUILTINS}}
    aliases = {}
    for node in _walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            for a in node.names:
                bound = a.asname or a.name
                if node.module.startswith(FORBIDDEN_MODULES):
                    aliases[bound] = f"imports from {node.module}"
                elif node.module == "torch" and a.name in FORBIDDEN_ATTRS:
                    aliases[bound] = f"uses torch.{a.name}"
                elif root in INTROSPECTION_MODULES or root in (module, "importlib"):
                    aliases[bound] = f"imports from {node.module}"
                elif a.name in dynamic or _backward_kernel(a.name):
                    aliases[bound] = dynamic.get(a.name, "calls a backward kernel")
        elif isinstance(node, ast.Import):
            for a in node.names:
                root = a.name.split(".")[0]
                if a.name.startswith(FORBIDDEN_MODULES) and (a.asname or "." not in a.name):
                    aliases[a.asname or a.name] = f"imports {a.name}"
                if root in INTROSPECTION_MODULES or root in (module, "importlib"):
                    aliases[a.asname or root] = f"imports {a.name}"
    return aliases


def _module_references(
    tree: ast.Module, source: str, filename: str, defs: dict[str, ast.AST]
) -> dict[str, set[str]]:
    """For each def or class, the module-level names its code refers to.

    A function refers to a global only where Python's own scoping says so (symtable): a
    parameter or local that shares a function's name, as every upstream gradient in exercise 1
    does, is no reference. A string equal to a function's name counts too
    (`getattr(module, "helper")`). Module-level statements are added by the caller.
    """
    uses: dict[str, set[str]] = {}
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
            node = defs[name]
            uses[name] = (
                _globals_referenced(table)
                | _strings(node)
                | {n for part in _import_time_parts(node) for n in _names_used(part)}
            )
    return uses


def _globals_referenced(table: symtable.SymbolTable) -> set[str]:
    names = {
        s.get_name()
        for s in table.get_symbols()
        if (s.is_global() or s.is_free()) and s.is_referenced()
    }
    for child in table.get_children():
        names |= _globals_referenced(child)
    return names


def _imported(node: ast.AST) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    return set()


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in _walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _backward_kernel(name: str) -> bool:
    """`torch.ops.aten.tanh_backward` and kin: a derivative computed by torch, not by hand."""
    return "_backward" in name


_ATTR_REASONS = {**FORBIDDEN_ATTRS, **DYNAMIC_ATTRS}  # most specific first


def _reason(
    node: ast.AST | list[ast.AST], aliases: dict[str, str], imports_ok: bool = False
) -> str:
    """Why this code is forbidden, or "". `node`: a node (all of it) or the nodes to look at."""
    nodes = node if isinstance(node, list) else _walk(node)
    attrs = {sub.attr for sub in nodes if isinstance(sub, ast.Attribute)}
    # `getattr(torch, "__dict__")` is `torch.__dict__` written another way: the same rules.
    attrs |= {
        sub.args[1].value
        for sub in nodes
        if isinstance(sub, ast.Call) and _literal_attr(sub) and isinstance(sub.args[1].value, str)
    }
    if attrs & _ATTR_REASONS.keys():
        return next(reason for attr, reason in _ATTR_REASONS.items() if attr in attrs)
    kernel = next((a for a in sorted(attrs) if _backward_kernel(a)), None)
    if kernel:
        return f"calls a backward kernel (`{kernel}`)"
    direct_calls = {
        id(sub.func) for sub in nodes if isinstance(sub, ast.Call) and _literal_attr(sub)
    }
    inert = _inert_strings(nodes)
    for sub in nodes:
        if isinstance(sub, ast.Name) and sub.id in DYNAMIC_ATTRS:
            return DYNAMIC_ATTRS[sub.id]
        if isinstance(sub, ast.Name) and sub.id in aliases:
            return aliases[sub.id]
        if isinstance(sub, ast.Name) and sub.id in DYNAMIC:
            return DYNAMIC[sub.id]
        if isinstance(sub, ast.Name) and sub.id in ATTR_BUILTINS and id(sub) not in direct_calls:
            return f"uses {sub.id} with a computed name or under another name"
        if _star_import_of_forbidden(sub):
            return f"imports * from {sub.module}"  # binds names nobody wrote down
        if isinstance(sub, (ast.Import, ast.ImportFrom)) and not imports_ok:
            mods = (
                [a.name for a in sub.names] if isinstance(sub, ast.Import) else [sub.module or ""]
            )
            if any(_forbidden_module(m) for m in mods):
                return f"imports {mods[0]}"
        if id(sub) not in inert and _names_forbidden(sub):
            return f"names {sub.value!r}"
    return ""


def _inert_strings(nodes: list[ast.AST]) -> set[int]:
    """The strings among `nodes` that no code can use as a name: a docstring (any string
    standing as a statement on its own), and the names a module exports in `__all__`, which
    exercise 3's own `backward` is. Both cost a whole file as `forbidden` (`__all__ =
    ["backward"]`; a docstring opening with `torch.autograd`)."""
    inert: set[int] = set()
    for n in nodes:
        if _bare_string(n):
            inert.add(id(n.value))
        elif _exports(n):
            inert.update(id(e) for e in n.value.elts)
    return inert


def _bare_string(n: ast.AST) -> bool:
    """A string standing as a statement on its own (a docstring): evaluated, never used."""
    return (
        isinstance(n, ast.Expr)
        and isinstance(n.value, ast.Constant)
        and isinstance(n.value.value, str)
    )


def _exports(n: ast.AST) -> bool:
    """`__all__ = [...]` (or `+=`) of literal strings: read only by `from module import *`
    of this file, which no other file may do."""
    targets = n.targets if isinstance(n, ast.Assign) else [getattr(n, "target", None)]
    return (
        isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        and all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)
        and isinstance(n.value, (ast.List, ast.Tuple))
        and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in n.value.elts)
    )


def _star_import_of_forbidden(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.ImportFrom)
        and any(a.name == "*" for a in node.names)
        and _forbidden_module(node.module or "")
    )


def _forbidden_module(module: str) -> bool:
    return module.startswith(FORBIDDEN_MODULES) or module.split(".")[0] in (
        "importlib",
        *INTROSPECTION_MODULES,
    )


def _names_forbidden(node: ast.AST) -> bool:
    """A string such as "backward" or "torch.autograd", the makings of a hidden getattr."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    return (
        node.value in FORBIDDEN_ATTRS
        or node.value.startswith(FORBIDDEN_MODULES)
        or "breakpointhook" in node.value  # getattr(sys, "__breakpointhook__"): a literal name
    )


def _literal_attr(call: ast.Call) -> bool:
    """`getattr(obj, "name")` and kin, called directly with a literal name: no hidden access."""
    return (
        isinstance(call.func, ast.Name)
        and call.func.id in ATTR_BUILTINS
        and len(call.args) >= 2
        and isinstance(call.args[1], ast.Constant)
        and not call.keywords
    )


def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in _walk(node) if isinstance(n, ast.Name)}


@dataclass(frozen=True, eq=False)  # one per statement, told apart by identity
class Statement:
    """A module-level statement as the reach sees it: each of `names` (bound or touched by
    it) uses every one of `uses`."""

    names: set[str]
    uses: set[str]


def _reaching(
    reasons: dict[str, str], uses: dict[str, set[str]], statements: list[Statement]
) -> dict[str, str]:
    """Every name that reaches a forbidden one through the names it uses (`uses`, and the
    statements binding or touching it), with the reason of the nearest: one breadth-first pass
    backwards from them all, linear in the references, so a megabyte of names costs the grader
    no more than reading it.

    A statement's names are the users of each name it uses, but they are listed once per
    statement and handed out the first time the pass meets any of its uses: every one of them
    is found then, so a later meeting could add nothing (the answers of one list per name)."""
    users: dict[str, set[str]] = {}
    for name, used in uses.items():
        for u in used:
            users.setdefault(u, set()).add(name)
    using: dict[str, list[Statement]] = {}
    for statement in statements:
        for u in statement.uses:
            using.setdefault(u, []).append(statement)
    met: set[Statement] = set()  # the statements already handed out
    found = {name: (reason, name) for name, reason in reasons.items() if reason}
    queue = collections.deque(sorted(found))
    while queue:
        current = queue.popleft()
        candidates = set(users.get(current, ()))
        for statement in using.get(current, ()):
            if statement not in met:
                met.add(statement)
                candidates |= statement.names
        for user in sorted(candidates):
            if user not in found:
                found[user] = found[current]
                queue.append(user)
    return {
        name: reason + ("" if source == name else f" (through `{source}`)")
        for name, (reason, source) in found.items()
    }
