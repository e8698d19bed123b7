"""The assignment as a notebook (backprop_ninja.ipynb), generated from the marked solutions.

Single source, like the .py stubs (grader/stubs.py): every gradient function's cell is the stub
of the solution's function (signature, teaching docstring, `raise NotImplementedError`), in the
SPEC's order, under the headings `## Exercise 1/2/3` that the grader's notebook reader
(grader/notebook.py) uses to tell exercise 1's `dlogits` from exercise 2's. `make stubs` writes
it beside the stubs (the assignment's `derived` hook); a test fails when it drifts from what the
solutions generate.

It runs top to bottom in Jupyter or Colab with nothing but torch. Its own cells start with
`# backprop-ninja: setup`, which the grader never reads. A student uploads only the .ipynb, so
the first carries the student bundle's `_ninja_check/` package (bundle.py: the grader's
model, spec, judge, check driver and training demo), writes it to a private temporary folder and
imports it as `ninja`; the check cells run its student_check_driver on this kernel's functions
and print their exercise's part of the table `python check.py` prints, and the last cell runs
its training demo on `backward`. The data cell holds the census first names the training demo
uses (or reads the lecture's names.txt when it sits beside the notebook).
"""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

from grader.stubs import BEGIN, END, EXERCISES, generate_stub
from grader.supported import python_guard

NAME = "backprop_ninja.ipynb"
SETUP_MARK = "# backprop-ninja: setup"  # grader/notebook.py skips the cells it starts
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
   and submit it as it is, under any name: the .ipynb, not a .py export of it.

The grader reads only imports, function and class definitions and constants from your cells;
it never runs the rest (training loops, plots, prints). Cells starting with
`# backprop-ninja: setup` belong to the assignment and are not graded: leave them as they are.
"""

IMPORTS = "import torch\nimport torch.nn.functional as F\n"

_CHECK_GLUE = (
    python_guard("this notebook", sys="_sys", then="choose it as the notebook's kernel")
    + """
import atexit as _atexit
import builtins as _builtins
import importlib as _importlib
import json as _json
import re as _re
import shutil as _shutil
import tempfile as _tempfile
from pathlib import Path as _Path

# A private folder, removed when the kernel stops; a second run of this cell imports afresh.
_ninja_home = _Path(_tempfile.mkdtemp(prefix="backprop-ninja-notebook-"))
_atexit.register(_shutil.rmtree, _ninja_home, True)
for _name, _text in _NINJA_FILES.items():
    (_ninja_home / _name).parent.mkdir(parents=True, exist_ok=True)
    (_ninja_home / _name).write_text(_text, encoding="utf-8")
for _module in [m for m in _sys.modules if m.split(".")[0] == "_ninja_check"]:
    del _sys.modules[_module]
_sys.path.insert(0, str(_ninja_home))
# A message naming the version and the fix, not a traceback from the imports below.
_importlib.import_module("_ninja_check.supported").require_torch("this notebook")
for _module in _MODULES:
    _importlib.import_module("_ninja_check." + _module)
ninja = _sys.modules["_ninja_check"]  # ninja.model, ninja.spec, ninja.training_demo, ...

# torch as this kernel has it before any exercise cell ran, kept over a second run of this
# cell: each check runs on it, as the grader runs your functions on a torch no cell changed.
_NINJA_TORCH = ninja.check_process.KernelTorch(globals().get("_NINJA_TORCH"))


# Each exercise's functions, as the grader calls them (exercise 3 calls `backward`).
_FUNCTIONS = {
    "exercise1": tuple(ninja.spec.EXERCISE1),
    "exercise2": tuple(ninja.spec.EXERCISE2),
    "exercise3": ("backward",),
}


def ninja_check(exercise, namespace):
    \"\"\"The public check of one exercise, on what the grader will read from this notebook.

    The grader never runs a notebook: it keeps imports, definitions and literal constants of
    its cells (ninja.notebook). The check reads the cells this kernel ran the same way, and the
    bundle's check (student_check_driver) judges that module as the file `exercise.py`; it
    prints that exercise's part of the table `python check.py` prints. Exercises 1 and 2 share
    two names: the last definition run counts, as in the kernel.
    \"\"\"
    history = _history(namespace)
    if history is None:
        _builtins.print(_NO_HISTORY)
        return
    with _tempfile.TemporaryDirectory() as folder:
        read = ninja.notebook.read_history(history, _FUNCTIONS)
        _Path(folder, exercise + ".py").write_text(read.sources.get(exercise) or "")
        with _NINJA_TORCH.as_found() as set_aside:
            result = ninja.student_check_driver.check(_Path(folder))
    mine = {
        "items": [i for i in result["items"] if i["exercise"] == exercise],
        "chain": result["chain"] if exercise == "exercise1" else {},
        "output": {k: v for k, v in result["output"].items() if k == exercise},
    }
    graded = {f for names in _FUNCTIONS.values() for f in names}
    set_by = ninja.notebook_keep.dropped_globals(history, graded)
    unparsed = ninja.notebook.unparsed_cells(read, history)
    unmarked = [t for t in history if isinstance(t, str) and not ninja.notebook.opens_with_mark(t)]
    for item in mine["items"]:
        _not_run(item, exercise, set_by, unparsed, unmarked)
    _builtins.print(ninja.student_text.render(mine, where=exercise + " in this notebook"))
    for note in ninja.notebook_keep.why_undefined(_json.dumps(mine), history, graded):
        _builtins.print("note:", note)
    for note in ninja.notebook.returned_to(history, _FUNCTIONS, exercise):
        _builtins.print("note:", note)
    if set_aside:
        _builtins.print("note:", ninja.notebook_keep.torch_set_aside(set_aside))


def _not_run(item, exercise, set_by, unparsed, unmarked):
    \"\"\"A function missing from what this kernel ran, said in the notebook's words.

    The check judges the cells run since the kernel started as the file `exerciseN.py`, so a
    check run before its exercise's cells, or after a restart, said `exercise1.py is empty:
    ... check that you saved it (and uploaded the saved version)` on every row: words for a
    file the student never had. A name the kernel has from a statement the grader does not
    run (`dh = lambda dlogits, W2: ...`, `set_by`) is said so: "run its cell" was no cure; so
    is a cell run that is not valid Python (`unparsed`), which defined nothing, and one run
    without its `# Exercise N` line (`unmarked`), read as the exercise run before it.\"\"\"
    if item["status"] != "missing":
        return
    number = exercise.removeprefix("exercise")
    func = item["id"].split(".", 1)[1]
    func = "backward" if exercise == "exercise3" else func
    said = "not run in this kernel: no cell defining `" + func + "` under Exercise "
    said += number + " has run since the kernel started; run its cell (it opens with the line "
    said += "`# Exercise " + number + "`), then this check cell again"
    defines = _re.compile(r"(?m)^def[ \\t]+" + func + r"\\b")
    if any(defines.search(text) for text in unmarked):
        said = "a cell this kernel ran defines `" + func + "` but does not open with the line "
        said += "`# Exercise " + number + "`: the check reads the cells as your kernel ran them, "
        said += "without headings, so it took that `" + func + "` for another exercise's; make "
        said += "`# Exercise " + number + "` the cell's first line, run it, then this check cell "
        said += "again"
    for section, text, why in unparsed:
        if section == exercise and defines.search(text):
            said = "the cell defining `" + func + "` under Exercise " + number + " is " + why
            said += ", so it defined nothing (the grader leaves it out too): fix it, run it, "
            said += "then this check cell again"
    if func in set_by:
        said = "`" + func + "` is set by " + set_by[func] + ", which the grader does not run: "
        said += "it reads functions written with `def`; write `def " + func + "(...):` in a "
        said += "cell that opens with the line `# Exercise " + number + "`, run it, then this "
        said += "check cell again"
    for case in [item, *item.get("cases", [])]:
        typo = (case.get("message") or "").partition("; you defined ")[2]
        if typo and func not in set_by:
            case["message"] = _renamed(func, number, typo)
        else:
            case["message"] = said + ("; you defined " + typo if typo else "")
    item["hint"] = None


def _renamed(func, number, typo):
    \"\"\"A function the kernel has under another name: the rename leads. "not run in this kernel:
    ... run its cell" came first, and the student who had run the cell of a renamed `d_bnvar`
    was sent to run it again.\"\"\"
    said = "no cell this kernel ran under Exercise " + number + " defines `" + func + "`; you "
    said += "defined " + typo + " The grader calls each function by its name: name it `"
    return said + func + "`, run its cell, then this check cell again"


def _history(namespace):
    \"\"\"The cells this kernel ran, as typed, in the order it ran them; outside IPython (the
    notebook exported as a script and run with python), the script's cells as the export wrote
    them, every one (as after Run All); None where neither can be read.

    The builtins this glue calls are read from the builtins module: it runs in the kernel's
    namespace, where a cell's `list = [...]` made `list(...)` fail. The script's cells replace
    a reading of this namespace's functions that imported a module of the check's own, which
    the check refuses as the grader does: every row was ERROR.\"\"\"
    shell = namespace.get("get_ipython")
    try:
        return _builtins.list(shell().history_manager.input_hist_raw)
    except (AttributeError, TypeError):  # no IPython: the script this runs in, if any
        pass
    try:
        text = _Path(namespace.get("__file__")).read_text(encoding="utf-8")
    except (TypeError, OSError, ValueError):
        return None
    return _re.split(r"(?m)^# In\\[[^\\]]*\\]:[ \\t]*$", text)


_NO_HISTORY = (
    "The check cells read the cells Jupyter or Colab ran, and this Python (no IPython, no "
    "script file) has neither: run the notebook in Jupyter or Colab, or check .py files with "
    "the student bundle's check.py."
)
"""
)

# The shipped modules the notebook's cells use, by their names in _ninja_check/.
MODULES = (
    "check_process",
    "model",
    "spec",
    "student_text",
    "student_check_driver",
    "training_demo",
    "notebook_keep",
    "notebook",
)

DATA = """\
# The lecture's data: one name per line of names.txt when it sits beside this notebook,
# otherwise the US census first names above (the grader's training demo uses the same list),
# split and encoded as the training demo does. Kept in `data`, not in globals: your functions
# get what they need by name, never globally.
import os
import types


def lecture_data():
    demo = ninja.training_demo
    raw = open("names.txt").read().splitlines() if os.path.exists("names.txt") else None
    words = demo.clean_names(raw or _NAMES.split())
    train_words, dev_words, _ = demo.split_words(words)
    Xtr, Ytr = demo.build_dataset(train_words)
    Xdev, Ydev = demo.build_dataset(dev_words)
    return types.SimpleNamespace(
        words=words, itos=dict(enumerate(demo.ALPHABET)), vocab_size=len(demo.ALPHABET),
        block_size=demo.BLOCK_SIZE, Xtr=Xtr, Ytr=Ytr, Xdev=Xdev, Ydev=Ydev,
    )  # fmt: skip


data = lecture_data()
print(f"{len(data.words)} names, {data.vocab_size} characters, {len(data.Xtr)} training examples")
"""

FORWARD = """\
# The forward pass of the lecture, on one batch of 32 training examples. Your functions get
# these values by name (the check cells and the grader pass them in): no globals needed.
cfg = ninja.model.Config(vocab_size=data.vocab_size, block_size=data.block_size)
params = ninja.model.init_params(cfg, torch.Generator().manual_seed(42))
lecture = ninja.model.atomic_forward(params, data.Xtr[:32], data.Ytr[:32])
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
# The bundle's train.py, on your `backward`: the first steps are compared with autograd.
STEPS = 1000


def report(step, loss):
    if step % 250 == 0 or step == STEPS - 1:
        print(f"step {step:5d}  loss {loss:.4f}")


if "backward" not in globals():  # run before Exercise 3's cell, or after a restart
    print("`backward` has not run in this kernel: run its cell under Exercise 3, then this one.")
else:
    try:
        demo = ninja.training_demo
        seed = demo.DEFAULT_SEED
        demo.train(backward, data.words, STEPS, check_steps=3, seed=seed, progress=report)
    except ninja.training_demo.TrainingError as e:
        print(e)
        print(
            "(In this notebook, `backward` is the function under Exercise 3: write or fix it "
            "there and run its cell, then this one again.)"
        )
"""


def build_notebook(solutions: Path, filled: bool = False) -> dict:
    """The notebook as nbformat-4 JSON data: stubs, or (filled=True) the reference solutions."""
    from grader.bundle import package_files  # the bundle imports the assignment: import late

    from .bundle import BUNDLE

    cells = [_markdown("intro", INTRO), _code("imports", IMPORTS)]
    cells.append(_setup("setup", _check_cell(package_files(BUNDLE)), hidden=True))
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
            cells.append(_code(f"{exercise}-{name}", _marked(exercise, code), tags=[exercise]))
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


def _check_cell(files: dict[str, str]) -> str:
    """The setup cell: the bundle's `_ninja_check/` package, file by file, and the glue."""
    entries = []
    for name, text in files.items():
        if "'''" in text or text.endswith("\\"):
            raise ValueError(f"{name} cannot be embedded in a raw ''' string: change the delimiter")
        entries.append(f"    {name!r}: r'''{text}''',\n")
    cell = (
        f"{SETUP_MARK} (generated by `make stubs`; not graded). Run it first.\n"
        "# The grader's public code, as the student bundle ships it in _ninja_check/ (what\n"
        "# check.py and train.py run): written to a private temporary folder, imported from\n"
        "# there as `ninja`; `ninja_check(...)` is what the check cells call.\n"
        "_NINJA_FILES = {\n" + "".join(entries) + "}\n"
        f"_MODULES = {MODULES!r}\n" + _CHECK_GLUE
    )
    if embedded_files(cell) != files:  # a raw string that would not read back as the file
        raise ValueError("the _ninja_check sources do not survive embedding in the setup cell")
    return cell


def embedded_files(cell: str) -> dict[str, str]:
    """The files a setup cell carries, read back from its source."""
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_NINJA_FILES":
            return ast.literal_eval(node.value)
    return {}


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


def _marked(exercise: str, code: str) -> str:
    """A gradient's cell opens with `# Exercise N`, which the notebook reader takes as its
    section. The check cells read what the kernel ran, which holds no headings: without the
    mark, exercise 2's `dlogits`, run last, stood in for exercise 1's in exercise 1's check."""
    return f"# Exercise {exercise.removeprefix('exercise')}\n{code}"


def _setup(cell_id: str, text: str, hidden: bool = False) -> dict:
    if not text.startswith(SETUP_MARK):
        text = f"{SETUP_MARK} (not graded)\n" + text
    return _code(cell_id, text, tags=["setup"], hidden=hidden)
