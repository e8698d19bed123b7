"""Run a notebook top to bottom in a kernel of this Python, as Jupyter would; print its outputs.

tools/student-pythons.sh runs the bundle's notebook with each student's Python and with the
grader's, and compares what its cells printed (the check cells' tables above all). The kernel
must be this Python's own: a kernel found elsewhere (a user's kernelspec) would check another
Python, so the first cell run asks, and a mismatch stops the run.

    python tools/student_pythons_notebook.py NOTEBOOK.ipynb   (in the folder it runs in)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

_ASK = "import sys as _s\nprint(_s.executable)\ndel _s\n"


def outputs(cell: dict) -> str:
    """What a code cell printed, and its error's name and message."""
    text = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            text.append(out["text"])
        elif out["output_type"] == "error":
            text.append(f"{out['ename']}: {out['evalue']}\n")
    return "".join(text)


def main(argv: list[str]) -> int:
    # torch without numpy warns so at `import torch`, the notebook's first cell, where check.py
    # and train.py silence it (docs/student-pythons.md): not a difference of verdicts.
    os.environ["PYTHONWARNINGS"] = "ignore:Failed to initialize NumPy"
    nb = nbformat.read(argv[0], as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_ASK))
    client = NotebookClient(
        nb,
        timeout=1800,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(Path.cwd())}},
    )
    client.execute()
    kernel = outputs(nb.cells[0]).strip()
    if Path(kernel).resolve() != Path(sys.executable).resolve():
        print(f"the kernel ran {kernel}, not {sys.executable}", file=sys.stderr)
        return 2
    for cell in nb.cells[1:]:
        if cell.cell_type == "code" and outputs(cell):
            print(f"--- cell {cell.get('id', '?')}")
            print(outputs(cell), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
