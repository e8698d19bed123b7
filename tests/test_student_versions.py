"""The student bundle on a Python or torch it cannot run on: one message naming the version
found and the fix, never a traceback from deep in its code.

Python 3.9 ended check.py, train.py and the notebook's setup cell in `TypeError: unsupported
operand type(s) for |`; a Python without torch in `ModuleNotFoundError: No module named
'torch'`. CI has one Python and one torch, so each is faked here, before the script runs (a
replaced `sys.version_info`, `sys.modules["torch"] = None`, a torch whose `__version__` is
1.13.1); tools/student-pythons.sh runs the bundle on real other Pythons and torches.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.assignment import load
from grader.backprop_ninja.notebook_build import NAME as NOTEBOOK
from grader.bundle import write_student_bundle
from grader.supported import PYTHON, TORCH, torch_problem

FAKES = {
    "python 3.9": "sys.version_info = (3, 9, 18, 'final', 0)\n",
    "no torch": "sys.modules['torch'] = None\n",
    "torch 1.13": "import torch\ntorch.__version__ = '1.13.1+cu117'\n",
    # torch 2.2 beside numpy 2: torch.from_numpy raises "Numpy is not available".
    "torch 2.2, numpy 2": "import torch, importlib.metadata as m\ntorch.__version__ = '2.2.2'\n"
    "v = m.version\nm.version = lambda name: '2.2.6' if name == 'numpy' else v(name)\n",
    # Judged before torch is imported (whose import prints a page of numpy's warnings there).
    "torch 2.2 installed, numpy 2": "import importlib.metadata as m\nv = m.version\n"
    "m.version = lambda name: {'torch': '2.2.2', 'numpy': '2.2.6'}.get(name) or v(name)\n"
    "sys.modules['torch'] = None\n",
}
NUMPY_2 = ": torch 2.2.2 was built for numpy 1, and this Python has numpy 2.2.6"
SAYS = {
    "python 3.9": " needs Python 3.10 or newer, and this is Python 3.9",
    "no torch": " needs torch, which this Python cannot import",
    "torch 1.13": " needs torch 2.0 or newer, and this Python has torch 1.13.1+cu117",
    "torch 2.2, numpy 2": NUMPY_2,
    "torch 2.2 installed, numpy 2": NUMPY_2,
}


def unpacked(out: Path, assignment=None) -> Path:
    zipped = write_student_bundle(out / "dist", assignment)
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(out / "unpacked")
    (folder,) = (out / "unpacked").iterdir()
    return folder


@pytest.fixture(scope="module")
def ninja(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpacked(tmp_path_factory.mktemp("ninja"))


@pytest.fixture(scope="module")
def layers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpacked(tmp_path_factory.mktemp("layers"), load("layer-by-layer"))


def run_faked(folder: Path, fake: str, code: str) -> subprocess.CompletedProcess:
    """`code` run in `folder` by this Python, after `fake` has made it look like another."""
    return subprocess.run(
        [sys.executable, "-c", "import runpy, sys\n" + fake + code],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def assert_says_only(done: subprocess.CompletedProcess, script: str, fake: str) -> None:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith(script + SAYS[fake]), done.stderr
    assert "pip install" in done.stderr  # the fix


@pytest.mark.parametrize("fake", list(FAKES))
@pytest.mark.parametrize("script", ["check.py", "train.py"])
def test_the_scripts_name_the_version_and_the_fix_not_a_traceback(ninja, script, fake):
    run = f"sys.argv = [{script!r}]\nrunpy.run_path({script!r}, run_name='__main__')\n"
    assert_says_only(run_faked(ninja, FAKES[fake], run), script, fake)


@pytest.mark.parametrize("fake", list(FAKES))
def test_the_second_assignments_check_says_the_same(layers, fake):
    run = "sys.argv = ['check.py']\nrunpy.run_path('check.py', run_name='__main__')\n"
    assert_says_only(run_faked(layers, FAKES[fake], run), "check.py", fake)


@pytest.mark.parametrize("fake", list(FAKES))
def test_the_notebooks_setup_cell_says_the_same(ninja, fake):
    cells = json.loads((ninja / NOTEBOOK).read_text())["cells"]
    (setup,) = [c for c in cells if c.get("id") == "setup"]
    (ninja / "setup_cell.py").write_text("".join(setup["source"]))
    run = "exec(open('setup_cell.py').read(), {'__name__': '__main__'})\n"
    assert_says_only(run_faked(ninja, FAKES[fake], run), "this notebook", fake)


def test_python_2_reads_the_guard_too(ninja):
    """Only the first lines run on an old Python: written so that any Python parses them."""
    guard = (ninja / "check.py").read_text().split("\nimport warnings", 1)[0]
    compile(guard, "check.py", "exec", dont_inherit=True)
    assert "f'" not in guard and 'f"' not in guard  # no f-string: 3.5 and 2.7 parse it


@pytest.mark.parametrize(
    ("version", "runs"),
    [("2.0.0", True), ("2.0.0a0+gitabc", True), ("2.14.1+cu130", True), ("10.1", True)]
    + [("1.13.1", False), ("1.9.0+cpu", False)],
)
def test_a_torch_version_runs_the_bundle_from_2_0_on(version, runs):
    assert (torch_problem("check.py", version) == "") is runs
    assert TORCH == (2, 0) and PYTHON == (3, 10)


@pytest.mark.parametrize(
    ("torch", "numpy", "runs"),
    [("2.2.2", "1.26.4", True), ("2.2.2", "", True), ("2.2.2", "2.0.0", False)]
    + [("2.3.1", "2.2.6", True), ("2.14.1", "2.3.0", True)],
)
def test_numpy_2_needs_a_torch_built_for_it(torch, numpy, runs):
    assert (torch_problem("check.py", torch, numpy=numpy) == "") is runs
