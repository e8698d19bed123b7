"""The notebook's check sees a student's functions as the grader will: the same rule on both sides.

The grader keeps imports, definitions and literal constants of a notebook (grader/notebook.py);
the check cells run in a kernel that has every global. `notebook_keep` replays the grader's rule
over the cells the kernel ran, so a function reading a global the grader drops fails in the
check with the grader's NameError, and says why.
"""

from __future__ import annotations

import json

import pytest

from grader.notebook import read_notebook
from grader.notebook_keep import as_graded, bound, kernel_of

GRADIENT = {"dbnvar", "dlogits", "backward"}
SETUP = "# backprop-ninja: setup (not graded)\n"


def run_cells(cells: list[str]) -> dict:
    """A kernel: the cells run in order in one namespace, with IPython's `In` beside them."""
    namespace: dict = {"__name__": "__main__", "In": ["", *cells]}
    for text in cells:
        exec(compile(text, "<cell>", "exec"), namespace)
    return namespace


def functions_in(namespace: dict) -> dict:
    return {
        k: v
        for k, v in namespace.items()
        if callable(v) and getattr(v, "__module__", None) == "__main__"
    }


def graded(cells: list[str]):
    namespace = run_cells(cells)
    return as_graded(functions_in(namespace), namespace["In"], GRADIENT)


def test_a_global_made_by_a_call_fails_in_the_check_as_in_the_grader():
    functions, notes = graded(
        [
            "import torch\nEPS = float('1e-5')\n",
            "def dbnvar(bnvar, dbnvar_inv):\n"
            "    return -0.5 * (bnvar + EPS) ** -1.5 * dbnvar_inv\n",
        ]
    )
    with pytest.raises(NameError, match="EPS"):
        functions["dbnvar"](1.0, 1.0)
    (note,) = notes["dbnvar"]
    assert "dbnvar reads the global EPS" in note and "float('1e-5')" in note
    assert "EPS = 1e-5" in note  # what to write instead


def test_a_literal_constant_and_an_import_are_kept_as_the_grader_keeps_them():
    functions, notes = graded(
        [
            "import math\nEPS = 1e-5\nHALF = -EPS / 2\n",
            "def dbnvar(bnvar, dbnvar_inv):\n"
            "    return HALF / EPS * math.pow(bnvar + EPS, -1.5) * dbnvar_inv\n",
        ]
    )
    assert functions["dbnvar"](1.0, 2.0) == pytest.approx(-0.5 * (1.0 + 1e-5) ** -1.5 * 2.0)
    assert notes == {}


def test_a_global_the_grader_keeps_a_binding_of_stays_in_either_order():
    """`EPS = 1e-5` is in the grader's module wherever it sits; the kernel's own later changes
    of it (dropped by the grader) do not take it away."""
    cells = ["EPS = float('1e-5')\n", "EPS = 1e-5\n", "def dbnvar(x):\n    return EPS * x\n"]
    for order in (cells, [cells[1], cells[0], cells[2]]):
        functions, notes = graded(order)
        assert functions["dbnvar"](2.0) == pytest.approx(2e-5) and notes == {}


def test_a_helper_that_reads_a_dropped_global_fails_its_caller_too():
    functions, notes = graded(
        [
            "scale = sum([1.0])\n",
            "def helper(x):\n    return scale * x\n",
            "def backward(x):\n    return helper(x)\n",
        ]
    )
    with pytest.raises(NameError, match="scale"):
        functions["backward"](1.0)
    assert list(notes) == ["helper"]


def test_a_function_defined_inside_a_statement_the_grader_drops_is_missing_in_both():
    functions, notes = graded(["if True:\n    def dlogits(x):\n        return x\n"])
    assert "dlogits" not in functions
    assert "dlogits is defined by `if True:`" in notes["dlogits"][0]


def test_the_assignments_own_cells_are_never_the_students():
    """Setup cells are not graded: their names are missing for the student's functions, and
    their own functions (the check itself) run untouched."""
    functions, notes = graded(
        [
            SETUP + "n = 32\ndef ninja_check():\n    return n\n",
            "def dbnvar(x):\n    return x / n\n",
        ]
    )
    assert functions["ninja_check"]() == 32
    with pytest.raises(NameError):
        functions["dbnvar"](1.0)
    assert "the assignment's own cell" in notes["dbnvar"][0]


def test_outside_ipython_the_functions_are_left_as_they_are():
    namespace = run_cells(["EPS = float('1e-5')\n", "def dbnvar(x):\n    return EPS * x\n"])
    functions = functions_in(namespace)
    assert as_graded(functions, None, GRADIENT) == (functions, {})


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


NOTEBOOK_CELLS = [
    "import torch\nimport torch.nn.functional as F\n",
    "EPS = 1e-5\nSCALE = torch.tensor(2.0)\nn_hidden = 64\nk = n_hidden * 2\n",
    "for step in range(2):\n    last = step\n",
    "def helper(x):\n    return x * EPS\n",
    "def dbnvar(bnvar, dbnvar_inv):\n    return helper(bnvar) + SCALE + last\n",
    "total = 0\ntotal += 1\nimport math as m\nlabel: str = 'x'\n",
]


def test_the_kernel_lacks_exactly_what_the_grader_leaves_out():
    """The grader's module and the kernel minus `kernel_of`'s names hold the same globals."""
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
    dropped = kernel_of(kernel["In"], {"dbnvar"}).dropped
    graders = {k for k in module if not k.startswith("__")}
    kept = {k for k in kernel if not k.startswith("__") and k != "In"} - dropped.keys()
    assert graders == kept
    assert dropped.keys() == {"SCALE", "step", "last"}  # `total = 0` is kept, then changed
