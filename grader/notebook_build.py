"""The assignment as a notebook (backprop_ninja.ipynb), generated from the marked solutions.

Single source, like the .py stubs (grader/stubs.py): every gradient function's cell is the stub
of the solution's function (signature, teaching docstring, `raise NotImplementedError`), in the
SPEC's order, under the headings `## Exercise 1/2/3` that the grader's notebook reader
(grader/notebook.py) uses to tell exercise 1's `dlogits` from exercise 2's. `make stubs` writes
it beside the stubs; a test fails when it drifts from what the solutions generate.

It runs top to bottom in Jupyter or Colab with nothing but torch. Its own cells start with
`# backprop-ninja: setup`, which the grader never reads: the first holds the bundle's public
check (check.py: the grader's model, spec and driver) as a module `ninja_check`, plus the glue
that checks this kernel's functions; the data cell holds the census first names the grader's
training demo uses (or reads the lecture's names.txt when it sits beside the notebook).
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

from .notebook import SETUP_MARK
from .stubs import BEGIN, END, EXERCISES, generate_stub

NAME = "backprop_ninja.ipynb"
_TITLES = {
    "exercise1.py": "Exercise 1: backprop through the atomic compute graph",
    "exercise2.py": "Exercise 2: fused backward passes (cross-entropy and BatchNorm)",
    "exercise3.py": "Exercise 3: putting it all together",
}

INTRO = """\
# Becoming a Backprop Ninja

The lecture's three exercises, one function per gradient. For each one: write its body (replace
the `raise NotImplementedError`), run its cell, and run the **check** cell at the end of the
exercise: it compares every gradient with PyTorch autograd on the lecture's configuration, like
the lecture's `cmp`. The grader then adds hidden cases with other sizes and seeds, so never
hard-code 27, 32 or 64.

1. Run the first cells (imports, setup, data): they need nothing but torch.
2. Work through the exercises in order. Add cells, helper functions and notes anywhere you like,
   but keep the `## Exercise N` headings: they tell the grader which exercise a function
   belongs to (exercises 1 and 2 both have a `dlogits` and a `dhprebn`).
3. Download the notebook (Colab: File > Download > Download .ipynb; Jupyter: File > Download)
   and submit it as it is, under any name.

The grader reads only imports, function and class definitions and constants from your cells;
it never runs the rest (training loops, plots, prints). Cells starting with
`# backprop-ninja: setup` belong to the assignment and are not graded: leave them as they are.
"""

IMPORTS = "import torch\nimport torch.nn.functional as F\n"

_CHECK_GLUE = '''
import contextlib as _contextlib
import io as _io
import sys as _sys
import tempfile as _tempfile
import types as _types
from pathlib import Path as _Path

ninja = _types.ModuleType("ninja_check")
ninja.SNAPSHOTS = {}
_sys.modules["ninja_check"] = ninja
exec(compile(_CHECK_SOURCE, "check.py", "exec"), ninja.__dict__)


def ninja_check(exercise, namespace):
    """The public check of one exercise, on the functions this notebook defines right now.

    Exercises 1 and 2 share two names, so each check keeps a snapshot of the functions as they
    are when it runs; the bundle's check.py then imports them as if they were exercise files.
    """
    ninja.SNAPSHOTS[exercise] = {
        k: v
        for k, v in namespace.items()
        if callable(v) and getattr(v, "__module__", None) == namespace.get("__name__")
    }
    with _tempfile.TemporaryDirectory() as folder:
        for name in ninja.SNAPSHOTS:
            _Path(folder, name + ".py").write_text(
                "import ninja_check\\n"
                f"globals().update(ninja_check.SNAPSHOTS[{name!r}])\\n"
            )
        out = _io.StringIO()
        with _contextlib.redirect_stdout(out):
            ninja.main([folder])
    rows = [ln for ln in out.getvalue().splitlines() if ln.startswith(exercise + ".")]
    print("\\n".join(rows))
    ok = sum(" | exact " in r or " | approximate " in r for r in rows)
    print(f"{ok} of {len(rows)} gradients of {exercise} match autograd (the lecture's case).")
'''

DATA = """\
# The lecture's data: one name per line of names.txt when it sits beside this notebook,
# otherwise the US census first names above (the grader's training demo uses the same list).
# Kept in `data`, not in globals: your functions get what they need by name, never globally.
import os
import random
import types


def build_dataset(words, stoi, block_size=3):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return torch.tensor(X), torch.tensor(Y)


def lecture_data():
    words = open("names.txt").read().splitlines() if os.path.exists("names.txt") else None
    words = words or _NAMES.split()
    stoi = {s: i + 1 for i, s in enumerate(sorted(set("".join(words))))}
    stoi["."] = 0
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1], stoi)
    Xdev, Ydev = build_dataset(words[n1:n2], stoi)
    itos = {i: s for s, i in stoi.items()}
    return types.SimpleNamespace(
        words=words, stoi=stoi, itos=itos, vocab_size=len(itos), block_size=3,
        Xtr=Xtr, Ytr=Ytr, Xdev=Xdev, Ydev=Ydev,
    )  # fmt: skip


data = lecture_data()
print(f"{len(data.words)} names, {data.vocab_size} characters, {len(data.Xtr)} training examples")
"""

FORWARD = """\
# The forward pass of the lecture, on one batch of 32 training examples. Your functions get
# these values by name (the check cells and the grader pass them in): no globals needed.
cfg = ninja.Config(vocab_size=data.vocab_size, block_size=data.block_size)
params = ninja.init_params(cfg, torch.Generator().manual_seed(42))
lecture = ninja.atomic_forward(params, data.Xtr[:32], data.Ytr[:32])
print("loss", lecture["loss"].item())
"""

CHECK = 'ninja_check("{exercise}", globals())\n'

TRAIN_INTRO = """\
### Training with your backward

As at the end of the lecture: a short training run in which every gradient comes from your
`backward` (no autograd), then a few names sampled from the model. Run it once exercise 3
passes its check; it takes a few seconds.
"""

TRAIN = """\
import inspect


def call_by_name(fn, values):
    \"\"\"fn called with the arguments it declares, as the grader calls it.\"\"\"
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(**values)
    return fn(**{p.name: values[p.name] for p in params if p.kind is not p.VAR_POSITIONAL})


def train(backward, steps=1000, batch=32, seed=2147483647):
    \"\"\"SGD on the compact forward with your backward's gradients; returns the parameters.\"\"\"
    g = torch.Generator().manual_seed(seed)
    p = ninja.init_params(cfg, g)
    for i in range(steps):
        ix = torch.randint(0, data.Xtr.shape[0], (batch,), generator=g)
        Xb, Yb = data.Xtr[ix], data.Ytr[ix]
        with torch.no_grad():
            v = ninja.compact_forward(p, Xb, Yb)
            values = {**p, **v, "Xb": Xb, "Yb": Yb, "n": batch, **cfg.sizes()}
            values = {k: x for k, x in values.items() if k in ninja.ALLOWED_EXERCISE3}
            grads = call_by_name(backward, values)
        if isinstance(grads, (list, tuple)):
            grads = dict(zip(ninja.EXERCISE3_GRADS, grads))
        lr = 0.1 if i < 0.75 * steps else 0.01
        for name in p:
            p[name] -= lr * grads["d" + name].reshape(p[name].shape)
        if i % 250 == 0 or i == steps - 1:
            print(f"step {i:5d}  loss {v['loss'].item():.4f}")
    return p


@torch.no_grad()
def sample(p, count=10, seed=2147483647 + 10):
    \"\"\"Names drawn from the model; BatchNorm calibrated on the training set.\"\"\"
    g = torch.Generator().manual_seed(seed)
    hprebn = p["C"][data.Xtr].view(data.Xtr.shape[0], -1) @ p["W1"] + p["b1"]
    mean, var = hprebn.mean(0, keepdim=True), hprebn.var(0, keepdim=True)
    names = []
    for _ in range(count):
        out, context = [], [0] * data.block_size
        while len(out) < 30:
            h = p["C"][torch.tensor([context])].view(1, -1) @ p["W1"] + p["b1"]
            h = torch.tanh(p["bngain"] * (h - mean) * (var + 1e-5) ** -0.5 + p["bnbias"])
            probs = F.softmax(h @ p["W2"] + p["b2"], dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            if ix == 0:
                break
            out.append(ix)
            context = context[1:] + [ix]
        names.append("".join(data.itos[i] for i in out))
    return names


try:
    print(*sample(train(backward)), sep="\\n")
except NotImplementedError:
    print("backward is not implemented yet: write it above, run its check, then this cell.")
"""


def build_notebook(solutions: Path, filled: bool = False) -> dict:
    """The notebook as nbformat-4 JSON data: stubs, or (filled=True) the reference solutions."""
    from .bundle import build_check_source  # the bundle imports this module: import late

    cells = [_markdown("intro", INTRO), _code("imports", IMPORTS)]
    cells.append(_setup("setup", _check_cell(build_check_source()), hidden=True))
    cells.append(_markdown("data-title", "## The data and the forward pass\n"))
    cells.append(_setup("names", _names_cell(), hidden=True))
    cells.append(_setup("data", DATA))
    cells.append(_setup("forward", FORWARD))
    for file in EXERCISES:
        exercise = file.removesuffix(".py")
        source = (solutions / file).read_text(encoding="utf-8")
        text = _without_markers(source) if filled else generate_stub(source)
        doc, functions = _split(text)
        doc = doc.split("\n", 1)[1] if doc.startswith("Exercise") else doc  # the title's
        cells.append(_markdown(exercise, f"## {_TITLES[file]}\n\n{_as_markdown(doc)}"))
        for name, code in functions:
            cells.append(_code(f"{exercise}-{name}", code, tags=[exercise]))
        cells.append(_markdown(f"{exercise}-check-title", f"Check {exercise}:\n"))
        cells.append(_setup(f"{exercise}-check", CHECK.format(exercise=exercise)))
    cells.append(_markdown("train-title", TRAIN_INTRO))
    cells.append(_setup("train", TRAIN))
    return {
        "cells": cells,
        "metadata": {
            "colab": {"provenance": []},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def notebook_text(solutions: Path, filled: bool = False) -> str:
    """The .ipynb file's text: stable bytes for unchanged solutions (fixed cell ids)."""
    return json.dumps(build_notebook(solutions, filled), indent=1, ensure_ascii=False) + "\n"


def write_notebook(solutions: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / NAME
    path.write_text(notebook_text(solutions), encoding="utf-8")
    return path


def notebook_is_current(solutions: Path, assignments: Path) -> bool:
    path = assignments / NAME
    return path.is_file() and path.read_text(encoding="utf-8") == notebook_text(solutions)


def _without_markers(source: str) -> str:
    keep = (ln for ln in source.splitlines(keepends=True) if ln.strip() not in (BEGIN, END))
    return "".join(keep)


def _split(text: str) -> tuple[str, list[tuple[str, str]]]:
    """A module's docstring and each top-level function's source, in file order."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    doc = ast.get_docstring(tree) or ""
    functions = [
        (node.name, "".join(lines[node.lineno - 1 : node.end_lineno]).rstrip() + "\n")
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    ]
    return doc, functions


def _as_markdown(doc: str) -> str:
    """A module docstring as markdown: its indented formula blocks become code blocks."""
    out, block = [], []
    for line in doc.splitlines() + [""]:
        if line.startswith("    "):
            block.append(line[4:])
            continue
        if block:
            out += ["```", *block, "```"]
            block = []
        out.append(line)
    return "\n".join(out).strip() + "\n"


def _check_cell(check_source: str) -> str:
    if "'''" in check_source or check_source.endswith("\\"):
        raise ValueError("check.py cannot be embedded in a raw ''' string: change the delimiter")
    return (
        f"{SETUP_MARK} (generated by `make stubs`; not graded). Run it first.\n"
        "# The bundle's public check (the grader's model and closeness rule), as the module\n"
        "# `ninja`, and `ninja_check`, which the check cells call.\n"
        f"_CHECK_SOURCE = r'''{check_source}'''\n" + _CHECK_GLUE
    )


def _names_cell() -> str:
    from .train import load_names

    wrapped = textwrap.fill(" ".join(load_names(None)), width=96)
    return f"{SETUP_MARK}: the census first names (not graded)\n_NAMES = '''\n{wrapped}\n'''\n"


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _markdown(cell_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": _lines(text)}


def _code(cell_id: str, text: str, tags: list[str] | None = None, hidden: bool = False) -> dict:
    meta: dict = {"tags": tags} if tags else {}
    if hidden:  # folded in Jupyter and Colab: long generated code the student need not read
        meta.update({"cellView": "form", "jupyter": {"source_hidden": True}})
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": meta,
        "outputs": [],
        "source": _lines(text),
    }


def _setup(cell_id: str, text: str, hidden: bool = False) -> dict:
    if not text.startswith(SETUP_MARK):
        text = f"{SETUP_MARK} (not graded)\n" + text
    return _code(cell_id, text, tags=["setup"], hidden=hidden)
