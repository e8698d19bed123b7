"""Notebooks as Jupyter and Colab save them, built around a submission's functions.

`lecture_notebook(files)` puts each exercise's functions in cells of their own under the
lecture's `## Exercise N` headings, surrounded by the lecture's own cells: the matplotlib import
with `%matplotlib inline`, a `!pip install`, top-level lecture code (`words = open(...)`, the
lecture's `dlogprobs = ...` and `cmp(...)` lines), an endless `while True:` loop, a training
loop, and the clutter of a saved notebook: outputs (streams, images, errors), execution counts,
cell ids, attachments, Colab's metadata.
"""

from __future__ import annotations

import ast
import base64
import json

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8).decode()


def code(source: str, count: int | None = 1, outputs=(), tags=(), meta=None) -> dict:
    metadata = dict(meta or {})
    if tags:
        metadata["tags"] = list(tags)
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": metadata,
        "outputs": list(outputs),
        "source": source.splitlines(keepends=True),
    }


def markdown(text: str, attachments: dict | None = None) -> dict:
    cell = {"cell_type": "markdown", "metadata": {}, "source": text.splitlines(keepends=True)}
    if attachments:
        cell["attachments"] = attachments
    return cell


def stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text.splitlines(keepends=True)}


def image(size: int = 1) -> dict:
    return {
        "output_type": "display_data",
        "data": {"image/png": PNG * size, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
        "metadata": {},
    }


def error(name: str = "NameError", value: str = "name 'logprobs' is not defined") -> dict:
    return {"output_type": "error", "ename": name, "evalue": value, "traceback": ["..."]}


def save(cells: list[dict], flavour: str = "jupyter") -> bytes:
    """The .ipynb bytes as `flavour` ("jupyter": nbformat 4.5 with cell ids; "colab") writes."""
    cells = [dict(c) for c in cells]
    if flavour == "colab":
        for i, c in enumerate(cells):
            c["metadata"] = {**c["metadata"], "id": f"Xc{i:04d}q"}
            if c["cell_type"] == "code":
                c["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
                c["metadata"]["outputId"] = f"{i:08x}-aaaa"
        meta = {
            "colab": {"provenance": [], "collapsed_sections": [], "toc_visible": True},
            "kernelspec": {"display_name": "Python 3", "name": "python3"},
            "language_info": {"name": "python"},
            "accelerator": "GPU",
        }
        minor = 0
    else:
        for i, c in enumerate(cells):
            c["id"] = f"cell-{i}"
        meta = {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.4"},
        }
        minor = 5
    nb = {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": minor}
    return json.dumps(nb, indent=1).encode()


def split_module(source: str) -> list[str]:
    """A module's top-level code as cells: each function alone, the rest in runs between them."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    cells, run = [], []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        text = "".join(lines[start - 1 : node.end_lineno])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if run:
                cells.append("".join(run))
                run = []
            cells.append(text)
        else:
            run.append(text + "\n")
    if run:
        cells.append("".join(run))
    return cells


LECTURE_FIRST_CELL = """\
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt # for making figures
%matplotlib inline
"""

HEADINGS = {
    "exercise1": "## Exercise 1: backprop through the whole thing manually",
    "exercise2": "## Exercise 2: cross entropy loss backward pass, in one go",
    "exercise3": "## Exercise 3: putting it all together!",
}


def lecture_notebook(files: dict[str, str], flavour: str = "jupyter", images: int = 1) -> bytes:
    """The submission's exercise sources as the cells of a lecture-style notebook."""
    cells = [
        markdown(
            "# Becoming a backprop ninja\n![diagram](attachment:graph.png)\n",
            attachments={"graph.png": {"image/png": PNG}},
        ),
        code("!pip install torch\n", outputs=[stream("Requirement already satisfied\n")]),
        code(LECTURE_FIRST_CELL, count=2),
        code(
            "words = open('names.txt', 'r').read().splitlines()\nprint(len(words))\n",
            count=3,
            outputs=[stream("32033\n")],
        ),
        code(
            "# utility function we will use later when comparing manual gradients to PyTorch\n"
            "def cmp(s, dt, t):\n"
            "    ex = torch.all(dt == t.grad).item()\n"
            "    print(f'{s:15s} | exact: {str(ex):5s}')\n",
            count=4,
        ),
        code("n_embd = 10\nn_hidden = 64\nbatch_size = 32\nn = batch_size\n", count=5),
    ]
    for exercise in ("exercise1", "exercise2", "exercise3"):
        if files.get(exercise) is None:
            continue
        cells.append(markdown(HEADINGS[exercise] + "\n\nSome words from the lecture.\n"))
        for i, text in enumerate(split_module(files[exercise])):
            cells.append(code(text, count=10 + i))
            if i == 2:  # clutter in the middle of the section, as a student leaves it
                cells.append(markdown("Scratch work, not graded:\n"))
                cells.append(
                    code(
                        "dlogprobs = torch.zeros_like(logprobs)\n"
                        "cmp('logprobs', dlogprobs, logprobs)\n",
                        outputs=[error()],
                    )
                )
        cells.append(code("%%time\nplt.plot([1, 2])\n", outputs=[image(images)]))
    cells.append(code("while True:\n    pass\n", count=None))
    cells.append(
        code(
            "for i in range(200000):\n    loss = train_step()\n    lossi.append(loss)\n",
            outputs=[stream("      0/ 200000: 3.7\n")],
        )
    )
    return save(cells, flavour)


def filled_assignment_notebook(files: dict[str, str], flavour: str = "colab") -> bytes:
    """The bundle's backprop_ninja.ipynb with each stub cell replaced by the submission's function.

    What else a file holds (imports, constants, helpers) goes in a new cell under the exercise's
    heading; the lecture's own cells are added around, as a student copying from it would.
    """
    from conftest import SOLUTIONS

    from grader.backprop_ninja.notebook_build import notebook_text

    nb = json.loads(notebook_text(SOLUTIONS))
    stubs = {ex: set() for ex in HEADINGS}
    for cell in nb["cells"]:
        for tag in set(cell["metadata"].get("tags", [])) & set(HEADINGS):
            stubs[tag].add(ast.parse("".join(cell["source"])).body[0].name)

    def name_of(text: str) -> str:
        return text.split("(")[0].removeprefix("def ") if text.startswith("def ") else ""

    cells: list[dict] = [code(LECTURE_FIRST_CELL), code("!pip install torch\n")]
    for cell in nb["cells"]:
        cell = {k: v for k, v in cell.items() if k != "id"}
        text = "".join(cell["source"])
        exercise = next((t for t in cell["metadata"].get("tags", []) if t in HEADINGS), None)
        if exercise is None:
            cells.append(cell)
            if cell["cell_type"] == "markdown" and text.startswith("## Exercise"):
                ex = f"exercise{text[12]}"
                parts = [t for t in split_module(files[ex]) if name_of(t) not in stubs[ex]]
                cells.append(code("".join(parts), count=7))
                cells.append(code("dlogprobs = torch.zeros_like(logprobs)\n", outputs=[error()]))
            continue
        name = ast.parse(text).body[0].name
        mine = [t for t in split_module(files[exercise]) if name_of(t) == name]
        cells.append(code(mine[-1] if mine else "", count=8, outputs=[image()]))
    cells.append(code("while True:\n    pass\n", count=None))
    return save(cells, flavour)
