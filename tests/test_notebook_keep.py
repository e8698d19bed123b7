"""The notebook's check judges what the grader will read: the grader's reader on the kernel's cells.

The grader keeps imports, definitions and literal constants of a notebook (grader/notebook.py);
the check cells run in a kernel that has every global. They read the cells the kernel ran with
the same reader (`read_history`), so a function reading a global the grader drops fails there
with the grader's NameError, and `why_undefined` (the rule replayed) says which line set it.
"""

from __future__ import annotations

import json

import pytest

from grader.notebook import read_history
from grader.notebook_file import read_notebook
from grader.notebook_keep import bound, dropped_globals, why_undefined

GRADIENT = {"dbnvar", "dlogits", "backward"}
SETUP = "# backprop-ninja: setup (not graded)\n"


FUNCTIONS = {"exercise1": ("dbnvar", "dlogits"), "exercise3": ("backward",)}


def module_of(cells: list[str], exercise: str = "exercise1") -> dict:
    """The module the notebook's check judges for `exercise`, imported."""
    module: dict = {}
    exec(read_history(cells, FUNCTIONS).sources[exercise], module)
    return module


DBNVAR = "def dbnvar(bnvar, dbnvar_inv):\n    return -0.5 * (bnvar + EPS) ** -1.5 * dbnvar_inv\n"


def test_a_global_made_by_a_call_is_missing_as_in_the_grader_and_the_note_says_why():
    cells = ["import torch\nEPS = float('1e-5')\n", DBNVAR]
    with pytest.raises(NameError, match="EPS") as e:
        module_of(cells)["dbnvar"](1.0, 1.0)
    (note,) = why_undefined(str(e.value), cells, GRADIENT)
    assert note.startswith("EPS is set by `EPS = float('1e-5')`, which the grader does not run")
    assert "EPS = 1e-5" in note  # what to write instead


def test_a_literal_constant_and_an_import_are_kept_as_the_grader_keeps_them():
    cells = ["import math\nEPS = 1e-5\nHALF = -EPS / 2\n", DBNVAR.replace("-0.5", "HALF / EPS")]
    assert module_of(cells)["dbnvar"](1.0, 2.0) == pytest.approx(-0.5 * (1 + 1e-5) ** -1.5 * 2)


def test_a_global_the_grader_keeps_a_binding_of_stays_in_either_order():
    """`EPS = 1e-5` is in the grader's module wherever it sits; a later `EPS = float(...)` (which
    the grader drops) does not take it away, and the note names nothing."""
    cells = ["EPS = float('1e-5')\n", "EPS = 1e-5\n", DBNVAR]
    for order in (cells, [cells[1], cells[0], cells[2]]):
        assert module_of(order)["dbnvar"](1.0, 1.0) == pytest.approx(-0.5 * (1 + 1e-5) ** -1.5)
        assert why_undefined("name 'EPS' is not defined", order, GRADIENT) == []


def test_a_cell_run_again_counts_where_it_ran_last():
    first, second = "def dlogits(x):\n    return 1\n", "def dlogits(x):\n    return 2\n"
    assert module_of([first, second, first])["dlogits"](0) == 1
    assert module_of([second, first, second])["dlogits"](0) == 2


def test_a_helper_that_reads_a_dropped_global_fails_its_caller_too():
    cells = [
        "scale = sum([1.0])\n",
        "def helper(x):\n    return scale * x\n",
        "def backward(x):\n    return helper(x)\n",
    ]
    with pytest.raises(NameError, match="scale"):
        module_of(cells, "exercise3")["backward"](1.0)


def test_a_default_value_naming_a_dropped_global_fails_the_whole_module_as_in_the_grader():
    cells = ["EPS = float('1e-5')\n", "def dbnvar(bnvar, dbnvar_inv, eps=EPS):\n    return eps\n"]
    with pytest.raises(NameError, match="EPS"):
        module_of(cells)


def test_decorators_classes_and_cell_magics_are_read_as_the_grader_reads_them():
    cells = [
        "EPS = float('1e-5')\n",
        "import functools\n@functools.lru_cache\ndef dlogits(x):\n    return EPS * x\n",
        "%%capture\nclass Helper:\n    @staticmethod\n    def eps():\n        return EPS\n",
        "def dbnvar(bnvar, dbnvar_inv):\n    return Helper.eps()\n",
    ]
    module = module_of(cells)
    for call in (lambda: module["dlogits"](2.0), lambda: module["dbnvar"](1.0, 1.0)):
        with pytest.raises(NameError, match="EPS"):
            call()


def test_a_function_defined_inside_a_statement_the_grader_drops_is_missing_in_both():
    read = read_history(["if True:\n    def dlogits(x):\n        return x\n"], FUNCTIONS)
    assert read.sources["exercise1"] is None  # the check then finds no dlogits, as the grader


def test_the_assignments_own_cells_are_never_the_students():
    """Setup cells are not graded: a name they set is missing, and the note says whose it is."""
    cells = [SETUP + "n = 32\n", "def dbnvar(bnvar, dbnvar_inv):\n    return bnvar / n\n"]
    with pytest.raises(NameError) as e:
        module_of(cells)["dbnvar"](1.0, 1.0)
    (note,) = why_undefined(str(e.value), cells, GRADIENT)
    assert note.startswith("n is set by the assignment's own cell")


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("for i in range(3): j = i\n", {"i", "j"}),
        ("with open('f') as f: pass\n", {"f"}),
        ("x += 1\n", {"x"}),
        ("import torch.nn.functional as F, os.path\n", {"F", "os"}),
        ("if (k := 3): pass\n", {"k"}),
        ("[y for y in range(3)]\n", set()),  # a comprehension's target is its own
        ("[z := 1 for _ in range(3)]\n", {"z"}),
        ("try:\n    pass\nexcept Exception as e:\n    pass\n", {"e"}),
        ("def f():\n    inner = 1\n", {"f"}),
        ("a, (b, *c) = 1, (2, 3)\n", {"a", "b", "c"}),
        ("del d\n", {"d"}),
    ],
)
def test_every_way_a_top_level_statement_binds_a_name(code, names):
    import ast

    assert bound(ast.parse(code).body[0]) == names


def run_cells(cells: list[str]) -> dict:
    """A kernel: the cells run in order in one namespace, with IPython's `In` beside them."""
    namespace: dict = {"__name__": "__main__", "In": ["", *cells]}
    for text in cells:
        exec(compile(text, "<cell>", "exec"), namespace)
    return namespace


NOTEBOOK_CELLS = [
    "import torch\nimport torch.nn.functional as F\n",
    "EPS = 1e-5\nSCALE = torch.tensor(2.0)\nn_hidden = 64\nk = n_hidden * 2\n",
    "for step in range(2):\n    last = step\n",
    "def helper(x):\n    return x * EPS\n",
    "def dbnvar(bnvar, dbnvar_inv):\n    return helper(bnvar) + SCALE + last\n",
    "total = 0\ntotal += 1\nimport math as m\nlabel: str = 'x'\n",
]


def test_the_kernel_lacks_exactly_what_the_grader_leaves_out():
    """The grader's module and the kernel minus `dropped_globals` hold the same globals."""
    nb = {
        "cells": [{"cell_type": "code", "source": c, "metadata": {}} for c in NOTEBOOK_CELLS],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    read = read_notebook(json.dumps(nb).encode(), "nb.ipynb", {"exercise1": ("dbnvar",)})
    module: dict = {}
    exec(read.sources["exercise1"], module)
    kernel = run_cells(NOTEBOOK_CELLS)
    dropped = dropped_globals(kernel["In"], {"dbnvar"})
    graders = {k for k in module if not k.startswith("__")}
    kept = {k for k in kernel if not k.startswith("__") and k != "In"} - dropped.keys()
    assert graders == kept
    assert dropped.keys() == {"SCALE", "step", "last"}  # `total = 0` is kept, then changed


def test_the_note_quotes_the_statement_when_a_comment_holds_a_form_feed():
    """Python ends a line only at \\n, \\r\\n or \\r; str.splitlines() also at \\f, \\v, \\x1c...
    (a form feed pasted from a PDF): the note quoted the line after the comment's break."""
    cells = ["# see p.\x0c2\nEPS = float('1e-5')\n", DBNVAR]
    (note,) = why_undefined("name 'EPS' is not defined", cells, GRADIENT)
    assert note.startswith("EPS is set by `EPS = float('1e-5')`"), note


def test_a_package_the_kernel_has_and_the_grader_lacks_is_left_out_in_both(tmp_path, monkeypatch):
    """Colab has einops and scipy; the grader has the standard library, torch and numpy. The
    reader kept an import wherever the module was installed, so in Colab the check cell passed
    a gradient using it that the grader failed with a NameError."""
    (tmp_path / "colab_only_pkg.py").write_text("def rows(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cells = [
        "import colab_only_pkg\nimport numpy as np\nimport math\n",
        "def dbnvar(bnvar, dbnvar_inv):\n    return colab_only_pkg.rows(bnvar) * dbnvar_inv\n",
    ]
    source = read_history(cells, FUNCTIONS).sources["exercise1"]
    assert "import colab_only_pkg" not in source
    assert "import numpy as np" in source and "import math" in source
    with pytest.raises(NameError, match="colab_only_pkg") as e:
        module_of(cells)["dbnvar"](1.0, 1.0)
    (note,) = why_undefined(str(e.value), cells, GRADIENT)
    assert note.startswith("colab_only_pkg is set by `import colab_only_pkg`, a module the grader")
    assert "standard library, torch and numpy" in note


@pytest.mark.parametrize("magic", ["%%time", "%%capture", "%%timeit -n 1"])
def test_an_exercise_mark_under_a_cell_magic_that_runs_python_still_places_its_function(magic):
    """The check cells read the kernel's history, which holds no headings: `%%time` above a
    cell's `# Exercise 2` hid the mark, its dlogits was read into exercise 1 and the exercise 2
    check said "not run in this kernel", where the grader, reading the headings, graded it."""
    ex1 = "# Exercise 1\ndef dlogits(dnorm_logits):\n    return dnorm_logits\n"
    ex2 = f"{magic}\n# Exercise 2\ndef dlogits(logits, Yb, n):\n    return logits\n"
    read = read_history([ex1, ex2], {**FUNCTIONS, "exercise2": ("dlogits",)})
    assert read.functions["exercise2"] == ["dlogits"]
    assert "dnorm_logits" in read.sources["exercise1"]
    assert "(logits, Yb, n)" in read.sources["exercise2"]
