"""The assignment notebook: generated from the solutions, in SPEC order, and it runs as shipped.

It is executed top to bottom with nbclient in a fresh kernel, in a folder holding nothing else
(as in Colab, with nothing but torch): the stubs version prints every check row as "not
implemented" and never crashes; the filled version passes every check and trains.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, SOLUTIONS, STUBS, discover
from test_bundle import solution_lines

from grader.backprop_ninja import ASSIGNMENT
from grader.backprop_ninja.notebook_build import NAME, SETUP_MARK, build_notebook, notebook_text
from grader.backprop_ninja.spec import EXERCISE1, EXERCISE2
from grader.backprop_ninja.student_check_driver import ITEM_IDS, check
from grader.notebook_file import read_notebook
from grader.notebook_submissions import functions_of
from grader.stubs import derived_are_current, write_derived
from grader.student_text import render

FILES = ("exercise1", "exercise2", "exercise3")
ROW = re.compile(r"^  \w+ +\S+ +\d+/\d+")  # an item's row: name, verdict, cases
SPEC_ORDER = {"exercise1": list(EXERCISE1), "exercise2": list(EXERCISE2), "exercise3": ["backward"]}


def cells_of(text: str) -> list[dict]:
    return json.loads(text)["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def test_the_committed_notebook_is_what_the_solutions_generate():
    assert derived_are_current(ASSIGNMENT, SOLUTIONS, STUBS) == [], "run make stubs"


def test_a_hand_edit_is_drift(tmp_path):
    """The check the bundle makes before it ships (stubs.derived_are_current) sees the notebook."""
    write_derived(ASSIGNMENT, SOLUTIONS, tmp_path)
    assert derived_are_current(ASSIGNMENT, SOLUTIONS, tmp_path) == []
    (tmp_path / NAME).write_text(notebook_text(SOLUTIONS).replace("dlogprobs", "dlogprob", 1))
    assert derived_are_current(ASSIGNMENT, SOLUTIONS, tmp_path) == [NAME]
    assert NAME in derived_are_current(ASSIGNMENT, SOLUTIONS, tmp_path / "nowhere")


def test_it_is_a_valid_nbformat_4_notebook_with_stable_cell_ids():
    nb = nbformat.reads(notebook_text(SOLUTIONS), as_version=4)
    nbformat.validate(nb)
    ids = [c["id"] for c in nb.cells]
    assert len(ids) == len(set(ids)) and "exercise2-dlogits" in ids


def test_each_gradient_has_its_own_cell_with_its_docstring_in_spec_order():
    cells = cells_of(notebook_text(SOLUTIONS))
    headings = [source(c) for c in cells if source(c).startswith("## Exercise")]
    assert [h.split(":")[0] for h in headings] == [
        "## Exercise 1",
        "## Exercise 2",
        "## Exercise 3",
    ]
    for exercise, order in SPEC_ORDER.items():
        mine = [c for c in cells if exercise in c["metadata"].get("tags", [])]
        trees = [ast.parse(source(c)).body for c in mine]
        assert all(len(body) == 1 and isinstance(body[0], ast.FunctionDef) for body in trees)
        assert [body[0].name for body in trees] == order
        assert all(ast.get_docstring(body[0]) for body in trees)
        assert all("raise NotImplementedError" in source(c) for c in mine)


def test_no_line_of_a_solution_is_in_the_stubs_notebook():
    lines = solution_lines()
    text = "\n".join(source(c) for c in cells_of(notebook_text(SOLUTIONS)))
    leaked = sorted(lines & {ln.strip() for ln in text.splitlines()})
    assert not leaked, leaked[:5]


@pytest.mark.parametrize("filled, implemented", [(False, 0), (True, 29)])
def test_the_grader_reads_every_function_into_its_own_exercise(filled, implemented):
    data = notebook_text(SOLUTIONS, filled=filled).encode()
    read = read_notebook(data, NAME, functions_of(FILES))
    assert read.functions == SPEC_ORDER and read.implemented == implemented
    setup = [c for c in read.cells if any("setup cell" in d for d in c.dropped)]
    assert setup and not any(c.taken for c in setup)


def test_the_shipped_notebook_and_the_filled_one_are_graded_as_expected(grader, tmp_path):
    for filled, want in ((False, {"not_implemented"}), (True, {"passed"})):
        folder = tmp_path / f"filled-{filled}"
        folder.mkdir()
        (folder / NAME).write_text(notebook_text(SOLUTIONS, filled=filled))
        (sub,), _ = discover(folder, FILES)
        result = grader.grade(sub).to_json()
        statuses = {i["status"] for i in result["items"] if i["id"] != "exercise3.training"}
        assert statuses == want, result["student"]


def run(nb_text: str, cwd: Path) -> list[dict]:
    """Every code cell's outputs after a run top to bottom in a fresh kernel."""
    from nbclient import NotebookClient

    nb = nbformat.reads(nb_text, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    return [c for c in nb.cells if c.cell_type == "code"]


def printed(cell) -> str:
    assert not [o for o in cell.outputs if o.output_type == "error"], cell.outputs
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def table_lines(text: str) -> list[str]:
    """The item rows of a check table and the reasons under them (indented lines)."""
    return [ln for ln in text.splitlines() if ln.startswith("  ")]


def check_rows(cells) -> list[str]:
    checks = [c for c in cells if c.id in {f"{f}-check" for f in FILES}]
    return [r for c in checks for r in table_lines(printed(c))]


@pytest.mark.parametrize("filled", [False, True], ids=["stubs", "filled"])
def test_it_runs_top_to_bottom_with_nothing_but_torch(tmp_path, filled):
    cells = run(notebook_text(SOLUTIONS, filled=filled), tmp_path)
    outputs = {c.id: printed(c) for c in cells}
    assert "5163 names" in outputs["data"] and "loss" in outputs["forward"]
    rows = check_rows(cells)
    # The bundle's check.py on the same functions prints the same rows (student_check_driver).
    folder = SOLUTIONS if filled else STUBS
    assert rows == table_lines(render(check(folder))), rows
    verdicts = [r.split()[1] for r in rows if ROW.match(r)]
    assert len(verdicts) == len(ITEM_IDS)
    if filled:
        assert set(verdicts) == {"ok"}, rows
        assert "step   999" in outputs["train"]
        samples = outputs["train"].split("samples:")[1].splitlines()[1:]
        assert len(samples) == 10 and all(s.strip().isalpha() or not s.strip() for s in samples)
    else:
        assert set(verdicts) == {"todo"}, rows
        assert (
            rows.count("      -> not implemented (still raises NotImplementedError)")
            == len(ITEM_IDS) - 1
        )
        assert "backward is not implemented yet" in outputs["train"]
        # A notebook has no exercise3.py: the message sent its student to a file they never had.
        assert "exercise3.py" not in outputs["train"], outputs["train"]
        assert "under Exercise 3: write or fix it there and run its cell" in outputs["train"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # it leaves nothing behind


def script_of(nb_text: str) -> str:
    """The notebook as Jupyter's "Download as Python (.py)" writes it (nbconvert's script
    exporter): a `# In[ ]:` line above each code cell, markdown cells as comments."""
    parts = ["#!/usr/bin/env python\n# coding: utf-8\n"]
    for cell in json.loads(nb_text)["cells"]:
        text = source(cell)
        if cell["cell_type"] == "code":
            parts.append(f"\n# In[ ]:\n\n\n{text}\n")
        else:
            parts.append("\n" + "".join(f"# {ln}".rstrip() + "\n" for ln in text.splitlines()))
    return "\n".join(parts)


def test_the_notebook_exported_as_a_script_and_run_with_python_checks_its_cells(tmp_path):
    """Without IPython, the check cells read this namespace's functions through a module of
    their own, which the check refuses as the grader refuses any import beyond torch and numpy:
    every row was ERROR. They now read the script's cells, as the grader reads a notebook."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != "train"]
    script = tmp_path / "backprop_ninja.py"
    script.write_text(script_of(json.dumps(nb)))
    done = subprocess.run(
        [sys.executable, script.name], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    rows = table_lines(done.stdout)
    assert rows == table_lines(render(check(SOLUTIONS))), done.stdout
    assert {r.split()[1] for r in rows if ROW.match(r)} == {"ok"}


def test_setup_cells_are_marked_so_the_grader_skips_them():
    nb = build_notebook(SOLUTIONS)
    for cell in nb["cells"]:
        if "setup" in cell["metadata"].get("tags", []):
            assert source(cell).startswith(SETUP_MARK)
    assert (ROOT / "assignments" / "backprop-ninja" / NAME).is_file()


def test_a_global_the_grader_leaves_out_fails_the_check_as_it_fails_the_grader(grader, tmp_path):
    """`EPS = float('1e-5')` is no literal: the grader's module lacks it, and the kernel has it.
    The check cell judges what the grader will read (a NameError) and says why, instead of ok."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    at = next(i for i, c in enumerate(nb["cells"]) if c.get("id") == "exercise1-dbnvar")
    cell = nb["cells"][at]
    cell["source"] = source(cell).replace("(bnvar + 1e-5)", "(bnvar + EPS)")
    assert "EPS" in cell["source"]
    constant = {**cell, "id": "eps", "source": "EPS = float('1e-5')\n", "metadata": {}}
    nb["cells"].insert(at, constant)
    text = json.dumps(nb)
    folder = tmp_path / "nb"
    folder.mkdir()
    cells = run(text, folder)
    check = printed(next(c for c in cells if c.id == "exercise1-check"))
    row = next(r for r in table_lines(check) if r.split()[0] == "dbnvar")
    assert row.split()[1] != "ok", check
    assert "NameError" in check and "EPS" in check
    assert "note: EPS is set by `EPS = float('1e-5')`, which the grader does not run" in check
    # Every other row is as before, and the grader agrees on dbnvar.
    others = [r for r in table_lines(check) if ROW.match(r) and r.split()[0] != "dbnvar"]
    assert {r.split()[1] for r in others} == {"ok"}, check
    (folder / NAME).write_text(text)
    (sub,), _ = discover(folder, FILES)
    result = grader.grade(sub).to_json()
    (item,) = [i for i in result["items"] if i["id"] == "exercise1.dbnvar"]
    assert item["status"] != "passed" and "EPS" in item["message"], item


def test_a_check_run_before_any_function_cell_prints_its_table(tmp_path):
    """A student runs the first cells, then a check before any exercise cell (or computes the
    gradients at top level, as the lecture does): the reader finds no gradient function, and its
    note for that asked the grader's assignment module, which the notebook does not carry (a
    ModuleNotFoundError traceback instead of the table)."""
    nb = json.loads(notebook_text(SOLUTIONS))
    keep = {"imports", "setup", "exercise1-check"}
    nb["cells"] = [c for c in nb["cells"] if c.get("id") in keep]
    nb["cells"].insert(2, {**nb["cells"][1], "id": "top", "source": "dlogprobs = 1\n"})
    (check,) = [c for c in run(json.dumps(nb), tmp_path) if c.id == "exercise1-check"]
    rows = [r for r in table_lines(printed(check)) if ROW.match(r)]
    assert len(rows) == len(EXERCISE1) and {r.split()[1] for r in rows} == {"missing"}, rows
    # In the notebook's words: it said `exercise1.py is empty: ... check that you saved it (and
    # uploaded the saved version)` on every row, of a file the student never had.
    said = [r for r in printed(check).splitlines() if r.strip().startswith("->")]
    assert len(said) == len(EXERCISE1), printed(check)
    for line, name in zip(said, EXERCISE1, strict=True):
        if name == "dlogprobs":  # set by the lecture's statement, which the grader does not run
            assert "`dlogprobs` is set by `dlogprobs = 1`" in line, line
            assert "write `def dlogprobs(...):` in a cell that opens with the line" in line, line
        else:
            assert f"no cell defining `{name}` under Exercise 1 has run" in line, line
        assert "exercise1.py" not in line and "upload" not in line, line


def test_a_gradient_set_by_a_statement_the_grader_drops_is_said_so(grader, tmp_path):
    """`dh = lambda dlogits, W2: ...` in dh's cell: the grader keeps functions written with
    `def` and says `dh` is missing; the check cell said so too, but told the student to run a
    cell that had run ("no cell defining `dh` ... has run since the kernel started")."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != "train"]
    cell = next(c for c in nb["cells"] if c.get("id") == "exercise1-dh")
    cell["source"] = "# Exercise 1\ndh = lambda dlogits, W2: dlogits @ W2.T\n"
    folder = tmp_path / "nb"
    folder.mkdir()
    text = json.dumps(nb)
    check = printed(next(c for c in run(text, folder) if c.id == "exercise1-check"))
    row = next(r for r in table_lines(check) if r.split()[0] == "dh")
    said = check.split(row, 1)[1].splitlines()[1]
    assert row.split()[1] == "missing", check
    assert "`dh` is set by `dh = lambda dlogits, W2: dlogits @ W2.T`" in said, said
    assert "write `def dh(...):`" in said and "has run since the kernel started" not in said
    (folder / NAME).write_text(text)
    (sub,), _ = discover(folder, FILES)
    (item,) = [i for i in grader.grade(sub).to_json()["items"] if i["id"] == "exercise1.dh"]
    assert item["status"] == "missing", item


def run_with_a_change(tmp_path: Path, change: str, after: str, setup_again: bool = False):
    """The filled notebook run with a cell `change` after dh's (and the setup cell run again
    after it) and a cell `after` after the last check: its code cells, its text, its folder."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != "train"]
    at = next(i for i, c in enumerate(nb["cells"]) if c.get("id") == "exercise1-dh")
    nb["cells"].insert(at + 1, {**nb["cells"][at], "id": "change", "source": change})
    if setup_again:
        setup = next(c for c in nb["cells"] if c.get("id") == "setup")
        nb["cells"].insert(at + 2, {**setup, "id": "setup-again"})
    last = next(i for i, c in enumerate(nb["cells"]) if c.get("id") == "exercise3-check")
    nb["cells"].insert(last + 1, {**nb["cells"][at], "id": "after", "source": after})
    folder = tmp_path / "nb"
    folder.mkdir()
    text = json.dumps(nb)
    return run(text, folder), text, folder


def assert_checks_and_grader_pass(cells, text: str, folder: Path, grader, note: str) -> list[str]:
    """Every check row ok with `note` under each check's table, and the grader passing every
    item of the notebook; returns the check tables."""
    rows = check_rows(cells)
    assert {r.split()[1] for r in rows if ROW.match(r)} == {"ok"}, rows
    tables = [printed(c) for c in cells if c.id.endswith("-check")]
    for table in tables:
        assert note in table, table
    (folder / NAME).write_text(text)
    (sub,), _ = discover(folder, FILES)
    assert {i["status"] for i in grader.grade(sub).to_json()["items"]} == {"passed"}
    return tables


@pytest.mark.parametrize("setup_again", [False, True], ids=["setup-once", "setup-run-again"])
def test_a_cell_s_change_to_torch_is_set_aside_by_the_check_as_the_grader_never_runs_it(
    grader, tmp_path, setup_again
):
    """`torch.Tensor.__sub__ = ...` at a cell's top level stays in the kernel, and the grader
    drops the statement: the check cell met the change in its own reference computation and
    printed a traceback instead of its table. It now runs on torch as the setup cell first
    found it (the default dtype too; a second run of the setup cell after the change keeps
    that), says so in a note, and leaves the kernel its change."""
    change = (
        "torch.Tensor.__sub__ = lambda a, b: torch.zeros(())\n"
        "torch.set_default_dtype(torch.float64)\n"
    )
    after = "print('kernel:', (torch.ones(2) - torch.ones(2)).shape, torch.get_default_dtype())\n"
    cells, text, folder = run_with_a_change(tmp_path, change, after, setup_again)
    note = "note: a cell this kernel ran changed torch.Tensor.__sub__ and the default dtype"
    assert_checks_and_grader_pass(cells, text, folder, grader, note)
    (kernel,) = [printed(c) for c in cells if c.id == "after"]
    assert kernel == "kernel: torch.Size([]) torch.float64\n"


def test_a_cell_s_device_grad_mode_and_torch_s_own_changes_leave_the_check_its_table(
    grader, tmp_path
):
    """`torch.set_default_device("meta")` and `torch.set_grad_enabled(False)` at a cell's top
    level are no attribute of torch: the check cells met them in their own autograd reference
    and printed a traceback instead of their table. They now run without them (the device is
    named in the note, grad mode is not: the grader runs student code with it off anyway), and
    the kernel gets both back. What torch and Python change on their own, after an optimizer's
    step (torch._dynamo wraps torch.manual_seed) or a pickled tensor (copyreg's __slotnames__
    in torch.Tensor), is no student's change, and the note no longer names it."""
    change = (
        "import pickle\n"
        "_p = torch.ones(1, requires_grad=True)\n"
        "_p.sum().backward()\n"
        "torch.optim.SGD([_p], lr=0.1).step()\n"
        "_ = pickle.dumps(torch.ones(1))\n"
        "torch.set_grad_enabled(False)\n"
        'torch.set_default_device("meta")\n'
    )
    after = "print('kernel:', torch.is_grad_enabled(), torch.ones(1).device)\n"
    cells, text, folder = run_with_a_change(tmp_path, change, after)
    note = "note: a cell this kernel ran changed the default device (meta), and the grader"
    for table in assert_checks_and_grader_pass(cells, text, folder, grader, note):
        assert "manual_seed" not in table and "__slotnames__" not in table, table
    (kernel,) = [printed(c) for c in cells if c.id == "after"]
    assert kernel == "kernel: False meta\n"


def test_an_object_whose_class_raises_put_into_torch_by_a_cell_leaves_the_check_its_table(
    grader, tmp_path
):
    """The note's reading of what a cell put into torch asked `isinstance`, which reads the
    object's `__class__`: one whose `__class__` raised ended every check cell in a traceback."""
    change = (
        "class _Odd:\n"
        "    @property\n"
        "    def __class__(self):\n"
        "        raise RuntimeError('no class')\n\n\n"
        "torch.odd_thing = _Odd()\n"
    )
    cells, text, folder = run_with_a_change(tmp_path, change, "pass\n")
    note = "note: a cell this kernel ran changed torch.odd_thing, and the grader"
    assert_checks_and_grader_pass(cells, text, folder, grader, note)


def test_a_cell_that_names_a_variable_list_leaves_the_check_its_judgement(tmp_path):
    """The check's glue runs in the kernel's namespace: a cell's `list = [1, 2, 3]` made its
    `list(...)` fail, the check took the kernel for one without IPython, and every row of
    every check cell was ERROR ("it imports '_ninja_notebook'"), where the grader passed."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != "train"]
    at = next(i for i, c in enumerate(nb["cells"]) if c.get("id") == "exercise1-dh")
    shadowing = "list = [1, 2, 3]\ncallable = getattr = print\n"
    nb["cells"].insert(at + 1, {**nb["cells"][at], "id": "shadow", "source": shadowing})
    rows = check_rows(run(json.dumps(nb), tmp_path))
    assert rows and {r.split()[1] for r in rows if ROW.match(r)} == {"ok"}, rows


def test_the_training_cell_run_before_backward_says_which_cell_to_run(tmp_path):
    """Run before Exercise 3's cell (or after a restart) it showed a bare NameError traceback."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    nb["cells"] = [
        c for c in nb["cells"] if c.get("id") in {"imports", "setup", "names", "data", "train"}
    ]
    (train,) = [c for c in run(json.dumps(nb), tmp_path) if c.id == "train"]
    assert "`backward` has not run in this kernel" in printed(train), printed(train)
    assert not any(o.get("output_type") == "error" for o in train.outputs)


def test_exercise_1s_check_judges_exercise_1s_dlogits_after_exercise_2_ran(grader, tmp_path):
    """The check reads what the kernel ran, which holds no headings: each gradient's cell opens
    with `# Exercise N`, so after Run All a second run of exercise 1's check judges exercise 1's
    dlogits, not exercise 2's fused one, run last (it said ok where the grader says wrong)."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    cell = next(c for c in nb["cells"] if c.get("id") == "exercise1-dlogits")
    assert source(cell).startswith("# Exercise 1\n")
    cell["source"] = source(cell).replace("dnorm_logits.clone()", "1.5 * dnorm_logits.clone()")
    assert "1.5 * dnorm_logits" in cell["source"]
    again = next(c for c in nb["cells"] if c.get("id") == "exercise1-check")
    nb["cells"].append({**again, "id": "exercise1-check-again"})
    text = json.dumps(nb)
    folder = tmp_path / "nb"
    folder.mkdir()
    cells = run(text, folder)
    for cell_id in ("exercise1-check", "exercise1-check-again"):
        rows = table_lines(printed(next(c for c in cells if c.id == cell_id)))
        row = next(r for r in rows if ROW.match(r) and r.split()[0] == "dlogits")
        assert row.split()[1] == "WRONG", (cell_id, rows)
    (folder / NAME).write_text(text)
    (sub,), _ = discover(folder, FILES)
    result = grader.grade(sub).to_json()
    status = {i["id"]: i["status"] for i in result["items"]}
    assert status["exercise1.dlogits"] == "failed" and status["exercise2.dlogits"] == "passed"


@pytest.mark.parametrize("setup_again", [False, True], ids=["setup-once", "setup-run-again"])
def test_a_module_a_cell_loaded_before_the_check_fails_it_as_it_fails_the_grader(
    grader, tmp_path, setup_again
):
    """`import torch._dynamo` in a cell the kernel ran before the checks: the grader keeps the
    import, and its process, which runs it, lacks sympy; the check cells' Python found the
    module loaded already and passed every row. A second run of the setup cell after it keeps
    the modules its first run found."""
    change = "import torch._dynamo\n"
    cells, text, folder = run_with_a_change(tmp_path, change, "pass\n", setup_again)
    (folder / NAME).write_text(text)
    (sub,), _ = discover(folder, FILES)
    graded = {i["id"]: i for i in grader.grade(sub).to_json()["items"]}
    for exercise in FILES:
        table = printed(next(c for c in cells if c.id == f"{exercise}-check"))
        rows = [r for r in table_lines(table) if ROW.match(r)]
        assert rows, table
        for row in rows:
            item = graded[f"{exercise}.{row.split()[0]}"]
            verdict = row.split()[1]
            assert (verdict == "ok") == (item["status"] == "passed"), (row, item["status"])
        if any(i["status"] == "error" for i in graded.values() if i["exercise"] == exercise):
            # The package named is one the grader lacks that the import reaches, found by
            # walking the loaded modules: with torch's CUDA build installed it was triton where
            # the grader's own import met sympy first (both are missing there).
            assert "`import torch._dynamo`" in table, table
            assert re.search(r"needs '\w+', which the grader does not have", table), table
    assert {i["status"] for i in graded.values()} != {"passed"}


def checked_and_graded(grader, tmp_path, cell_id: str, change, func: str):
    """The solutions' notebook with one cell changed (`change(cell)`, in place) and run: the
    check cell's row for `func` and the line under it, and the grader's result.json of it."""
    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != "train"]
    change(next(c for c in nb["cells"] if c.get("id") == cell_id))
    folder = tmp_path / "nb"
    folder.mkdir()
    text = json.dumps(nb)
    check_id = cell_id.split("-")[0] + "-check"
    check = printed(next(c for c in run(text, folder) if c.id == check_id))
    row = next(r for r in table_lines(check) if r.split()[0] == func)
    said = check.split(row, 1)[1].splitlines()[1]
    (folder / NAME).write_text(text)
    (sub,), _ = discover(folder, FILES)
    return row, said, grader.grade(sub).to_json()


def graded_item(result: dict, item_id: str) -> dict:
    (item,) = [i for i in result["items"] if i["id"] == item_id]
    return item


def test_a_cell_that_is_not_valid_python_is_said_so_not_unrun(grader, tmp_path):
    """dprobs's cell run with a bracket left open: the kernel showed the SyntaxError and defined
    nothing, and the check said "not run in this kernel: ... run its cell" to a student who had
    run it, where the grader says the cell is not valid Python."""

    def unclosed(cell: dict) -> None:
        cell["source"] = source(cell).replace(
            "(1.0 / probs) * dlogprobs", "(1.0 / probs * dlogprobs"
        )
        cell["metadata"] = {**cell.get("metadata", {}), "tags": ["raises-exception"]}

    row, said, result = checked_and_graded(grader, tmp_path, "exercise1-dprobs", unclosed, "dprobs")
    assert row.split()[1] == "missing", row
    assert said.startswith(
        "      -> the cell defining `dprobs` under Exercise 1 is not valid Python (line "
    ), said
    assert "'(' was never closed" in said and "has run since the kernel started" not in said
    assert graded_item(result, "exercise1.dprobs")["status"] == "missing"
    notes = result["notebook"]["cells"]
    assert any("'(' was never closed" in d for c in notes for d in c["dropped"]), notes


def test_a_cell_run_without_its_exercise_line_is_said_so_not_unrun(grader, tmp_path):
    """Exercise 2's dlogits cell run without its `# Exercise 2` line: the kernel's history has
    no headings, so the check read that dlogits as exercise 1's and told a student who had run
    the cell to run it, where the grader, which reads the headings, grades it."""

    def unheaded(cell: dict) -> None:
        cell["source"] = source(cell).removeprefix("# Exercise 2\n")

    row, said, result = checked_and_graded(
        grader, tmp_path, "exercise2-dlogits", unheaded, "dlogits"
    )
    assert row.split()[1] == "missing", row
    assert said.startswith(
        "      -> a cell this kernel ran defines `dlogits` but does not open with the line "
        "`# Exercise 2`"
    ), said
    assert graded_item(result, "exercise2.dlogits")["status"] == "passed"


def test_a_renamed_function_is_said_renamed_not_unrun(grader, tmp_path):
    """dbnvar's cell run as `def d_bnvar(...)`: the check said "not run in this kernel: no cell
    defining `dbnvar` under Exercise 1 has run since the kernel started; run its cell ..." and
    only then "you defined `d_bnvar`: did you mean `dbnvar`?", to a student who had run it."""

    def renamed(cell: dict) -> None:
        cell["source"] = source(cell).replace("def dbnvar(", "def d_bnvar(")

    row, said, result = checked_and_graded(grader, tmp_path, "exercise1-dbnvar", renamed, "dbnvar")
    assert row.split()[1] == "missing", row
    assert said.startswith(
        "      -> no cell this kernel ran under Exercise 1 defines `dbnvar`; you defined "
        "`d_bnvar`: did you mean `dbnvar`? The grader calls each function by its name"
    ), said
    assert "has run since the kernel started" not in said, said
    item = graded_item(result, "exercise1.dbnvar")
    assert item["status"] == "missing" and "did you mean `dbnvar`?" in item["message"], item


def test_an_upper_cell_run_again_after_a_lower_copy_is_said_by_the_check(grader, tmp_path):
    """Run All with a stale copy of dh's cell below it, then dh's own cell run again: the check
    judged the kernel's dh (ok), the grader the lower copy in the saved notebook (ERROR), and
    the check said nothing of the other cell. It now says so under its table."""
    from nbclient import NotebookClient

    nb = json.loads(notebook_text(SOLUTIONS, filled=True))
    nb["cells"] = [c for c in nb["cells"] if c.get("id") != "train"]
    at = next(i for i, c in enumerate(nb["cells"]) if c.get("id") == "exercise1-dh")
    stale = source(nb["cells"][at]).replace("dlogits @ W2.T", "dlogits @ W2")
    nb["cells"].insert(at + 1, {**nb["cells"][at], "id": "stale-dh", "source": stale})
    book = nbformat.reads(json.dumps(nb), as_version=4)
    client = NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    ids = [c.get("id") for c in book.cells]
    with client.setup_kernel():
        for i, cell in enumerate(book.cells):
            client.execute_cell(cell, i)
        for again in ("exercise1-dh", "exercise1-check"):
            client.execute_cell(book.cells[ids.index(again)], ids.index(again))
    check = printed(book.cells[ids.index("exercise1-check")])
    row = next(r for r in table_lines(check) if r.split()[0] == "dh")
    assert row.split()[1] == "ok", check  # the kernel's dh, run last
    (note,) = [ln for ln in check.splitlines() if "two or more cells" in ln]
    assert "define `dh` under Exercise 1" in note and "Restart and run all" in note, note
    folder = tmp_path / "nb"
    folder.mkdir()
    (folder / NAME).write_text(nbformat.writes(book))
    (sub,), _ = discover(folder, FILES)
    result = grader.grade(sub).to_json()
    (item,) = [i for i in result["items"] if i["id"] == "exercise1.dh"]
    assert item["status"] == "error", item  # the lower copy, as the grader reads the notebook
    assert any("`dh` is defined in cell" in n for n in result["notebook"]["notes"])
