"""The static scan: autograd use per function (only where it is used), and "did you mean"."""

from __future__ import annotations

import ast
import sys
import textwrap
import tracemalloc

import pytest
from conftest import never_hangs, solution

from grader import staticscan
from grader.staticscan import MAX_NODES, declared_encoding, did_you_mean, scan

SOLVED = "def dprobs(probs, dlogprobs):\n    return (1.0 / probs) * dlogprobs\n"


def scanned(source: str):
    return scan(textwrap.dedent(source))


@pytest.mark.parametrize("name", ["exercise1", "exercise2", "exercise3"])
def test_the_solutions_use_no_autograd(name):
    result = scan(solution(name))
    assert result.syntax_error == "" and result.forbidden == {}
    assert "backward" in result.functions or "dlogits" in result.functions


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "x = probs.clone().requires_grad_()\nx.log().backward(dlogprobs)\nreturn x.grad",
            "backward",
        ),
        ("return torch.autograd.grad(probs.sum(), probs)[0]", "torch.autograd"),
        ("return torch.func.grad(lambda p: p.log().sum())(probs)", "torch.func"),
        ("return probs.grad", ".grad"),
        ("loss = probs.sum()\nloss.backward()\nreturn probs", "backward()"),
        ("return getattr(probs, 'back' + 'ward')", "getattr"),
        ("return eval('probs.grad')", "eval"),
        ("import operator\nreturn operator.attrgetter('gr' + 'ad')(probs)", "attrgetter"),
        ("from torch.autograd import grad\nreturn grad(probs.sum(), probs)[0]", "torch.autograd"),
        ("return probs.grad_fn", "autograd graph"),
        # Reaching autograd by a name spelled at run time, through introspection.
        ("f = torch.__dict__[''.join(map(chr, (97, 117)))]\nreturn probs", "introspection"),
        ("import sys\nreturn sys._getframe().f_back.f_locals['x']", "introspection"),
        ("return type(probs).__mro__[1].__dict__['grad'].__get__(probs)", "introspection"),
        ("import ctypes\nreturn probs", "ctypes"),
        ("import gc\nreturn [o for o in gc.get_objects()][0]", "get_objects"),
        # A literal name is the attribute it names: these once passed the scan.
        ("return getattr(torch, '__dict__')['auto' + 'grad']", "introspection"),
        ("return getattr(torch.ops.aten, 'tanh_backward')(probs, probs)", "backward kernel"),
        ("return getattr(getattr(probs, '__class__'), '__mro__')", "introspection"),
        ("import sys\nreturn getattr(sys, 'modules')", "introspection"),
        # Raw memory through numpy (a second layer: the sandbox's do not depend on it).
        (
            "import numpy as np\nclass M: __array_interface__ = {'data': (0, False)}\n"
            "return np.asarray(M())",
            "introspection",
        ),
        ("import numpy as np\nreturn np.ctypeslib.as_array(0, (8,))", "introspection"),
    ],
)
def test_each_way_of_using_autograd_is_found(body, reason):
    source = "import torch\n\ndef dprobs(probs, dlogprobs):\n" + textwrap.indent(body, "    ")
    result = scan(source)
    assert "dprobs" in result.forbidden
    assert reason in result.forbidden["dprobs"]


def test_only_the_function_that_uses_autograd_is_marked():
    """Every upstream gradient is a parameter named like a function: that is no call of it."""
    result = scanned(
        """
        import torch

        def dprobs(probs, dlogprobs):
            x = probs.clone().requires_grad_()
            x.log().backward(dlogprobs)
            return x.grad

        def dcounts_sum_inv(counts, dprobs):
            return (counts * dprobs).sum(1, keepdim=True)

        def dcounts(counts_sum_inv, dprobs, dcounts_sum):
            dprobs = dprobs * 1.0
            return counts_sum_inv * dprobs + dcounts_sum
        """
    )
    assert set(result.forbidden) == {"dprobs"}
    assert result.forbidden["dprobs"] == "calls backward()"


def test_a_helper_that_uses_autograd_marks_its_callers():
    result = scanned(
        """
        def _vjp(f, x, v):
            x = x.clone().requires_grad_()
            f(x).backward(v)
            return x.grad

        def dprobs(probs, dlogprobs):
            return _vjp(lambda p: p.log(), probs, dlogprobs)

        def dcounts_sum_inv(counts, dprobs):
            return (counts * dprobs).sum(1, keepdim=True)
        """
    )
    assert set(result.forbidden) == {"_vjp", "dprobs"}
    assert result.forbidden["dprobs"] == "calls backward() (through `_vjp`)"


@pytest.mark.parametrize(
    "reach",
    [
        "h = _vjp\n\ndef dprobs(probs, dlogprobs):\n    return h(probs)",
        "def dprobs(probs, dlogprobs):\n    f = _vjp\n    return f(probs)",
        "def dprobs(probs, dlogprobs):\n    return [g(probs) for g in (_vjp,)][0]",
        "import sys\n\ndef dprobs(probs, dlogprobs):\n"
        "    return getattr(sys.modules[__name__], '_vjp')(probs)",
    ],
)
def test_an_alias_or_a_name_in_a_string_still_reaches_the_helper(reach):
    source = "def _vjp(x):\n    return x.grad\n\n" + reach
    assert "dprobs" in scan(source).forbidden


def test_module_level_autograd_marks_every_function():
    result = scanned(
        """
        import torch
        torch.Tensor.backward = lambda self, *a: None

        def dprobs(probs, dlogprobs):
            return (1.0 / probs) * dlogprobs
        """
    )
    assert result.forbidden == {"dprobs": "module-level code calls backward()"}


def test_an_unused_import_of_autograd_costs_the_functions_nothing():
    """The imported name itself is forbidden (the worker would export it as a function)."""
    result = scanned("import torch.autograd\nfrom torch.autograd import Variable\n" + SOLVED)
    assert result.forbidden == {"Variable": "imports from torch.autograd"}


def test_a_name_imported_from_autograd_marks_the_functions_that_use_it():
    source = (
        "from torch.autograd import grad as g\n"
        + SOLVED
        + "\ndef dcounts_sum_inv(counts, dprobs):\n    return g(counts.sum(), counts)[0]\n"
    )
    assert set(scan(source).forbidden) == {"dcounts_sum_inv", "g"}


def test_an_autograd_self_check_under_main_is_allowed():
    """The lecture's `cmp` checks use autograd; under `if __name__ == "__main__"` they never run
    when the grader imports the file."""
    result = scanned(
        SOLVED
        + """
if __name__ == "__main__":
    import torch
    p = torch.rand(3, 3, requires_grad=True)
    p.log().sum().backward()
    print(p.grad)
"""
    )
    assert result.forbidden == {}


def test_a_syntax_error_is_reported_not_raised():
    result = scan("def dprobs(probs:\n    return probs\n", "exercise1.py")
    assert result.syntax_error.startswith("SyntaxError") and "exercise1.py" in result.syntax_error


def test_a_notebook_line_in_a_syntax_error_is_quoted_in_printable_characters():
    """The IPython line the message quotes is the student's: a line separator, an escape or a
    bidi override in it reached the report and the Gradescope page as they were."""
    line = "!pip install x\u2028Score: 100/100\x1b[2J\u202eevil?"
    result = scan(line + "\n" + SOLVED, "exercise1.py")
    assert "is an IPython command" in result.syntax_error
    assert "`!pip install x?Score: 100/100?[2J?evil?` is an IPython command" in result.syntax_error
    assert result.syntax_error.isprintable()


@pytest.mark.parametrize(
    ("source", "ipython"),
    [
        ('def f(x):\n    """Why n-1?\n    return x\n', False),  # a docstring left open
        ('def f(x):\n    s = "why?\n    return x\n', False),
        ("def f(x):\n    return [x,\n      x]]?\n", False),
        ("F.one_hot?\n" + SOLVED, True),
        ("torch.nn.functional.cross_entropy??\n" + SOLVED, True),
        ("?F\n" + SOLVED, True),
        ("%matplotlib inline\n" + SOLVED, True),
    ],
)
def test_only_a_line_ipython_would_run_is_called_an_ipython_command(source, ipython):
    """A line ending in `?` is IPython's help only after a name alone: an unterminated docstring
    `\"\"\"Why n-1?` was told to be an IPython command to remove, not a string to close."""
    result = scan(source, "exercise1.py")
    assert result.syntax_error.startswith("SyntaxError")
    assert ("is an IPython command" in result.syntax_error) == ipython, result.syntax_error


def test_a_near_miss_name_gets_did_you_mean():
    assert did_you_mean("dlogit_maxes", {"dlogits_maxes", "dlogits"}) == (
        "did you mean `dlogits_maxes`?"
    )


def test_a_far_name_gets_no_suggestion():
    assert did_you_mean("dC", {"dlogprobs", "dprobs"}) == ""


def test_a_name_the_grader_also_asks_for_is_never_suggested():
    """`dcounts_sum` answers its own question; it is no typo of a missing `dcounts`."""
    assert did_you_mean("dcounts", {"dcounts_sum"}) == "did you mean `dcounts_sum`?"
    assert did_you_mean("dcounts", {"dcounts_sum"}, expected=frozenset({"dcounts_sum"})) == ""


# Every name the module binds is judged, not only `def` statements


def test_a_function_made_by_a_factory_at_import_forbids_the_file():
    """Import-time code that calls autograd-using code could have bound anything: all of it."""
    result = scan(
        textwrap.dedent(
            """
        import torch

        def make():
            def f(logits, Yb, n):
                x = logits.clone().requires_grad_()
                torch.nn.functional.cross_entropy(x, Yb).backward()
                return x.grad
            return f

        dlogits = make()
        """
        )
        + SOLVED
    )
    assert "dlogits" in result.forbidden and "dprobs" in result.forbidden
    assert "any_name_at_all" in result.forbidden  # bound under a computed name, say
    assert result.forbidden["dlogits"] == "module-level code reaches `make`, which calls backward()"


def test_a_lambda_bound_by_assignment_is_judged_as_the_function_it_is():
    result = scanned(
        "import torch\n"
        "dlogits = lambda logits, Yb, n: torch.autograd.grad(logits.sum(), logits)[0]\n" + SOLVED
    )
    assert dict(result.forbidden) == {"dlogits": "uses torch.autograd"}
    assert "dprobs" not in result.forbidden


def test_names_bound_through_globals_forbid_the_file():
    result = scanned("globals()['dlog' + 'its'] = lambda logits: logits\n" + SOLVED)
    assert result.forbidden.everything == "module-level code uses globals()"
    assert "dlogits" in result.forbidden and "dprobs" in result.forbidden


@pytest.mark.parametrize(
    "body",
    [
        "look = getattr\nreturn look(probs, 'gr' + 'ad')",
        "return functools.reduce(getattr, ['gr' + 'ad'], probs)",
        "return builtins.getattr(probs, 'gr' + 'ad')",
        "return probs.__getattr__('gr' + 'ad')",
        "return attrgetter('gr' + 'ad')(probs)",
        "return il.import_module('torch.auto' + 'grad')",
        "return me.dcounts(probs)",
        "return locals()['dlogprobs']",
        "return torch.ops.aten.tanh_backward(dlogprobs, probs)",
    ],
)
def test_dynamic_access_under_another_name_is_found(body):
    source = (
        "import builtins\nimport functools\nimport importlib as il\nimport torch\n"
        "import exercise1 as me\nfrom operator import attrgetter\n\n"
        "def dprobs(probs, dlogprobs):\n" + textwrap.indent(body, "    ")
    )
    assert "dprobs" in scan(source, "exercise1.py").forbidden


def test_an_alias_of_getattr_at_module_level_forbids_the_file():
    result = scanned("look = getattr\n" + SOLVED)
    assert "dprobs" in result.forbidden and "getattr" in result.forbidden["dprobs"]


def test_a_leftover_breakpoint_is_no_autograd():
    """A debugging leftover, refused where it runs (an error saying to remove it, as the public
    check says), not `forbidden` as a way to autograd."""
    result = scanned(SOLVED.replace("    return", "    breakpoint()\n    return"))
    assert dict(result.forbidden) == {}


@pytest.mark.parametrize(
    "body",
    [
        "sys.breakpointhook = sys.__breakpointhook__\nbreakpoint()",
        "from sys import __breakpointhook__ as hook\nhook()",
        "getattr(sys, '__breakpointhook__')()",
    ],
)
def test_python_s_own_breakpoint_hook_is_dynamic_access(body):
    """Python's hook imports whatever module PYTHONBREAKPOINT names: restoring it is refused."""
    source = "import sys\n\ndef dprobs(probs, dlogprobs):\n" + textwrap.indent(body, "    ")
    assert "dprobs" in scan(source).forbidden


def test_getattr_with_a_literal_name_is_fine():
    result = scanned(SOLVED + "\ndef dcounts(counts, dprobs):\n    return getattr(counts, 'T')\n")
    assert dict(result.forbidden) == {}


def test_a_global_rebound_by_a_function_is_judged_by_what_it_is_rebound_to():
    result = scanned(
        """
        def _evil(x):
            return x.grad

        def dprobs(probs, dlogprobs):
            global dcounts
            dcounts = _evil
            return probs

        def dcounts(counts, dprobs):
            return counts
        """
    )
    assert result.forbidden["dcounts"] == "reads .grad (through `_evil`)"


def test_a_helper_stored_into_an_object_at_import_is_reached_through_it():
    result = scanned(
        """
        class Box:
            pass

        def _evil(x):
            return x.grad

        Box.f = _evil

        def dprobs(probs, dlogprobs):
            return Box.f(probs)
        """
    )
    assert "dprobs" in result.forbidden


@pytest.mark.parametrize(
    "code",
    [
        "@_evil\ndef dcounts(counts):\n    return counts\n",
        "def dcounts(counts, g=_evil(1)):\n    return counts\n",
        "class K:\n    f = _evil(1)\n",
    ],
    ids=["decorator", "default", "class_body"],
)
def test_code_run_at_import_that_reaches_autograd_forbids_the_file(code):
    result = scanned("def _evil(x):\n    return x.grad\n\n" + code + SOLVED)
    assert "dprobs" in result.forbidden and result.forbidden.everything


# `if __name__ == "__main__":` is skipped only when it cannot run


MAIN_DEFINES = """
if __name__ == "__main__":
    import torch

    def dlogits(logits, Yb, n):
        return torch.autograd.grad(logits.sum(), logits)[0]
"""


@pytest.mark.parametrize(
    "rebind",
    [
        "__name__ = '__main__'\n",
        "(__name__ := '__main__')\n",
        "for __name__ in ['__main__']:\n    pass\n",
        "import exercise1 as me\nme.__name__ = '__main__'\n",
        "def _f():\n    global __name__\n    __name__ = '__main__'\n_f()\n",
        "setattr(me, '__name__', '__main__')\n",
    ],
)
def test_a_main_block_is_judged_when_the_file_can_set_its_name(rebind):
    result = scan(rebind + SOLVED + MAIN_DEFINES, "exercise1.py")
    assert "dlogits" in result.forbidden
    assert "dprobs" not in result.forbidden or result.forbidden.everything


def test_a_main_block_that_never_runs_defines_nothing_to_judge():
    assert dict(scanned(SOLVED + MAIN_DEFINES).forbidden) == {}


def test_a_docstring_that_mentions_the_name_leaves_the_main_block_unrun():
    """A docstring cannot set `__name__`: saying how to run the file cost the whole file."""
    docstring = '"""Run me directly: the if __name__ == "__main__" block checks me."""\n'
    assert dict(scan(docstring + SOLVED + MAIN_DEFINES, "exercise1.py").forbidden) == {}
    rebound = docstring + "x = '__name__'\n" + SOLVED + MAIN_DEFINES  # a string that is used
    assert "dlogits" in scan(rebound, "exercise1.py").forbidden


@pytest.mark.parametrize(
    "module_level",
    [
        "__all__ = ['backward']\n",
        "__all__: list = ['backward']\n__all__ += ('backward',)\n",
        '"""torch.autograd is used nowhere here: every gradient is by hand."""\n',
    ],
)
def test_the_names_a_file_exports_and_its_docstrings_name_nothing(module_level):
    """Exercise 3's own function is called `backward`: exporting it, or a docstring saying
    that autograd is not used, cost the whole file as `forbidden`."""
    source = solution("exercise3") + "\n" + module_level
    assert dict(scan(source, "exercise3.py").forbidden) == {}


@pytest.mark.parametrize(
    "module_level",
    ["names = ['backward']\n", "__all__ = ['backward', 'grad'.upper()]\n"],
)
def test_a_forbidden_name_kept_as_data_still_costs_the_file(module_level):
    source = solution("exercise3") + "\n" + module_level
    assert scan(source, "exercise3.py").forbidden.everything


# The text scanned is the text that runs


@pytest.mark.parametrize(
    ("coding", "hidden"),
    [
        ("utf-7", "# TODO +AAo-x = 1"),  # +AAo- is a newline in UTF-7
        ("unicode_escape", "# TODO \\nx = 1"),
        ("raw_unicode_escape", "# TODO \\u000ax = 1"),
        ("latin-1", "# caf\u00e9"),  # UTF-8's two bytes are two other letters in latin-1
        ("utf-16", ""),
    ],
)
def test_a_coding_line_under_which_python_reads_other_code_is_refused(coding, hidden):
    result = scan(f"# -*- coding: {coding} -*-\n" + SOLVED + hidden + "\n", "exercise1.py")
    assert "Python reads other code than the UTF-8 text the grader checks" in result.syntax_error
    assert result.functions == set()


@pytest.mark.parametrize("coding", ["utf-8", "UTF8", "utf_8", "latin-1", "ascii", "utf-7"])
def test_a_coding_line_under_which_python_reads_the_same_text_is_fine(coding):
    result = scan(f"# -*- coding: {coding} -*-\n" + SOLVED)
    assert result.syntax_error == "" and "dprobs" in result.functions


def test_an_unknown_codec_is_refused():
    assert "unknown encoding" in scan("# coding: nonsense\n" + SOLVED).syntax_error


def test_a_codec_slow_to_decode_is_refused_unread():
    """CPython's punycode decoder is quadratic (each `a` after the `-` is an insertion into all
    that came before): 1 MiB under `# coding: punycode` took 35 s, 2 MiB some minutes; a
    declaration outside the few worth comparing is refused without decoding."""
    data = b"# coding: punycode\n" + b"x" * 2**20 + b"-" + b"a" * 2**20
    with never_hangs():
        refusal = declared_encoding(data)
    assert refusal.startswith("it declares the encoding 'punycode'")


# A file the scan cannot read costs only its own items


@pytest.mark.parametrize(
    "expression", ["1" + "+1" * 100_000, "-" * 100_000 + "1", "a" + ".a" * 100_000]
)
def test_a_deeply_nested_expression_is_reported_not_raised(expression):
    result = scan(SOLVED + f"x = {expression}\n", "exercise1.py")
    assert result.syntax_error.startswith("it is nested too deeply for the grader to read")


@pytest.mark.parametrize("module", ["torch.autograd", "torch.func", "inspect"])
def test_a_star_import_of_autograd_forbids_the_file(module):
    """`from torch.autograd import *` binds `backward`, exercise 3's own name, unwritten."""
    result = scanned(f"from {module} import *\n" + SOLVED)
    assert result.forbidden.everything == f"module-level code imports * from {module}"
    assert "backward" in result.forbidden


def test_a_star_import_of_torch_is_fine():
    assert dict(scanned("from torch import *\n" + SOLVED).forbidden) == {}


# What the scan costs is linear in the file, however its names and functions are arranged

EVIL = "def _evil(x):\n    return x.grad\n\n"
NAMES = [f"a{i}" for i in range(2000)]


def peak_bytes(source: str) -> int:
    """The most memory Python held at once while scanning `source` (not the machine's speed)."""
    tracemalloc.start()
    try:
        scan(source)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "statement",
    [
        "print(" + ", ".join(NAMES) + ")\n",
        "x = [" + ", ".join(f"({a} := b{i})" for i, a in enumerate(NAMES)) + "]\n",
        "for " + ", ".join(NAMES) + " in y:\n    pass\n",
        EVIL + "for " + ", ".join(NAMES) + " in [lambda: _evil]:\n    pass\n",
    ],
    ids=["call", "walrus", "for", "reaching"],
)
def test_a_statement_of_many_names_costs_memory_linear_in_its_size(statement):
    """Each name a statement binds or touches once got its own copy of all the statement uses:
    `print(a0, ..., a5999)` (41 KB) took 4.5 GB, 11,000 bytes a character at 1,000 names (and
    growing with them); read once per statement, it takes some 250."""
    source = SOLVED + statement
    assert peak_bytes(source) < 1000 * len(source)
    if statement.startswith(EVIL):  # still reached through the statement
        forbidden = scan(source).forbidden
        assert forbidden["a1999"] == "reads .grad (through `_evil`)" and not forbidden.everything


@pytest.mark.parametrize(
    "lines", ["x\n", "f()\n", "if 1:\n" + " f()\n" * 20_000, "class C:\n" + " f()\n" * 20_000]
)
def test_a_file_of_more_pieces_than_the_scan_reads_is_refused_before_its_statements(
    lines, monkeypatch
):
    """Each statement is asked a dozen questions: 256 KiB of `x` lines (the file size allowed)
    cost the grader's own process 3.3 s, of `f()` lines 2.9 s, at the top or in a block, where
    a file as large of one long statement costs 0.6 s. Past MAX_NODES the file is refused, and
    no statement is asked anything."""
    source = SOLVED + lines * (MAX_NODES // lines.count("\n"))
    asked = []
    monkeypatch.setattr(staticscan, "_bound", lambda node: asked.append(node) or set())
    result = scan(source, "exercise1.py")
    assert result.syntax_error.startswith(f"it holds more than {MAX_NODES:,} pieces of Python")
    assert asked == [] and result.functions == set()
    assert scan(SOLVED + "x\n" * 1_000, "exercise1.py").syntax_error == ""  # far below: read


@pytest.mark.parametrize(
    "dense",
    [
        lambda k: "-" * k + "x",
        lambda k: "~" * k + "x",
        lambda k: "+".join("a" * k),
        lambda k: "<".join("a" * k),
        lambda k: "x" + "[:]" * k,
        lambda k: "x" + ".a" * k,
        lambda k: ";".join(["(a:=b)"] * k),
        lambda k: ";".join(["*a,=b"] * k),
        lambda k: "a;" * k,
        lambda k: "[x," * k + "]" * k,
        lambda k: ";".join(["f(*a)"] * k),
    ],
)
def test_a_source_too_short_for_the_bound_could_never_reach_it(dense):
    """The node count is skipped for a source under MAX_NODES // 3 characters (a submission's
    files are a few KB): the densest Python makes at most two nodes a character, and two for
    the module and its first statement."""
    for k in (1, 7, 150):
        source = dense(k)
        nodes = sum(1 for _ in ast.walk(ast.parse(source)))
        assert nodes <= 2 * len(source) + 2, (source, nodes)
    assert 2 * (MAX_NODES // 3) + 2 < MAX_NODES


def test_nested_functions_are_read_once(monkeypatch):
    """Judging each lambda of `lambda: lambda: ...` read the whole rest of it again: 2,900 deep
    took 11 s (the nodes it read grew with the square of the depth); now each node is read a
    few times. Nested defaults (`lambda a=lambda a=...: 0: 0`) are nested functions too."""
    depth = 300
    source = (
        SOLVED
        + "x = "
        + "lambda: " * depth
        + "0\ny = lambda a="
        + "lambda a=" * depth
        + "0: 0"
        + ": 0" * depth
        + "\n"
    )
    nodes = sum(1 for _ in ast.walk(ast.parse(source)))
    walk, read = ast.walk, 0

    def counted(node: ast.AST):
        nonlocal read
        for n in walk(node):
            read += 1
            yield n

    monkeypatch.setattr(ast, "walk", counted)
    result = scan(source)
    assert result.syntax_error == "" and dict(result.forbidden) == {}
    assert read < 10 * nodes


def test_a_nested_function_that_uses_autograd_is_still_found():
    result = scan(SOLVED + "x = " + "lambda: " * 50 + "y.grad\n")
    assert result.forbidden["x"] == "reads .grad"


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("try:\n    pass\nexcept* ValueError:\n    pass\n", "Exception groups"),
        ("x = 1\nmatch x:\n    case 1:\n        pass\n", ""),  # 3.10's own
        ('d = {\'k\': 1}\nx = f"{d[\'k\']}"\ny = f"""{d["k"]}"""\n', ""),
    ],
    ids=["except-star", "match", "f-strings-any-3.10-reads"],
)
def test_syntax_is_read_as_the_oldest_python_the_grader_runs_on_reads_it(source, says):
    # The grader on 3.11 accepted except*, which a grader on 3.10 (and the check of a student on
    # 3.10) refuses: one verdict whatever Python reads the file. The f-strings of Python 3.12 are
    # checked under 3.12 and 3.13 by tools/student-pythons.sh.
    error = scan(source).syntax_error
    if not says:
        assert error == ""
    elif sys.version_info < (3, 11):  # 3.10 refuses it in its own words
        assert error.startswith("SyntaxError")
    else:
        assert says in error and "as Python 3.10 does" in error


def test_a_syntax_error_quotes_the_line_that_does_not_parse():
    """ "SyntaxError: expected ':' (exercise1.py, line 58)" was all a student on Gradescope saw,
    with no traceback to show the line, as Python's own message does."""
    result = scan(SOLVED + "\ndef dprobs(probs, dlogprobs)\n    return probs\n", "exercise1.py")
    number = SOLVED.count("\n") + 2
    assert result.syntax_error.endswith(f"; line {number} reads `def dprobs(probs, dlogprobs)`"), (
        result.syntax_error
    )
    long = "x = (" + " + ".join(["probs"] * 30) + "\n"
    said = scan(long, "exercise1.py").syntax_error
    assert "reads `x = (probs + probs" in said and said.endswith("...`"), said
    odd = scan("def f(x)\u202e:\n    return x\n", "exercise1.py").syntax_error
    assert odd.isprintable() and "\u202e" not in odd, odd


def test_a_def_commented_by_hand_below_a_magic_s_cell_is_not_said_commented_by_the_magic():
    """Colab's Download .py comments out every line of a `%%time` cell (an empty line in it
    as `# `) and leaves an empty line after each cell. A `def` the student commented out in
    the cell below such a cell was described as the magic's doing ("as a notebook's Download
    .py writes every line of a cell that starts with a cell magic"); only the magic's own
    cell's lines are."""
    from grader.student_text import missing_function

    source = (
        "import torch\n\n"
        "# Commented out IPython magic to ensure Python compatibility.\n"
        "# %%time\n"
        "# x = 1\n"
        "# \n"
        "# def dprobs(probs, dlogprobs):\n"
        "#     return dlogprobs / probs\n"
        "\n"
        "# def dlogprobs(logprobs, Yb, n):\n"
        "#     return logprobs\n"
    )
    found = staticscan.commented_defs(source)
    assert (found["dprobs"].line, found["dprobs"].magic) == (7, True)
    assert (found["dlogprobs"].line, found["dlogprobs"].magic) == (10, False)
    expected = frozenset({"dlogprobs", "dprobs"})
    hand = missing_function("dlogprobs", "exercise1", set(), expected, "", (10, False))
    assert hand.endswith("(`# def dlogprobs(`): take the `# ` off its lines"), hand
