"""Student code read as the grader's oldest Python reads it, on the Pythons students check with.

The f-string rules only act where tokenize has f-string tokens (Python 3.12 and later): the
grader's own Python reads such a file with its own parser. CI has one Python, so those cases
run python_syntax.py, which imports nothing of the grader's, under each newer Python found
on this machine (python3.12, python3.13 on PATH or pyenv's); tools/student-pythons.sh runs
the whole bundle there.
"""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import tokenize
from pathlib import Path

import pytest

from grader import python_syntax
from grader.python_syntax import newer_syntax

MODULE = Path(python_syntax.__file__)


def _newer_pythons() -> list[str]:
    """Pythons 3.12 or newer on this machine, one per minor version."""
    found: dict[str, str] = {}
    candidates = [shutil.which(f"python3.{minor}") for minor in range(12, 16)]
    candidates += sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.1[2-9]*/bin/python")))
    for path in filter(None, candidates):
        version = subprocess.run(
            [path, "-c", "import sys; print(sys.version_info[:2] >= (3, 12), sys.version[:4])"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if version and version[0] == "True":
            found.setdefault(version[1], path)
    return list(found.values())


NEWER = _newer_pythons()

_RUN = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("python_syntax", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(module.newer_syntax(sys.stdin.read())))
"""


def newer_syntax_under(python: str, source: str) -> str:
    """What newer_syntax says of `source` under `python`."""
    done = subprocess.run(
        [python, "-c", _RUN, str(MODULE)], input=source, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


@pytest.fixture(params=NEWER or [None], ids=lambda p: p or "none")
def newer_python(request) -> str:
    if request.param is None:
        pytest.skip("no Python 3.12 or newer on this machine (tools/student-pythons.sh)")
    return request.param


@pytest.mark.parametrize(
    ("source", "says"),
    [
        # Python 3.11 reads the inner f'...' as a string ending at its second quote: the file
        # did not parse in the grader, and passed a student's check on 3.12.
        ("d = {'k': 1}\nx = f\"{f'{d['k']}'}\"\n", "uses its own quote"),
        ("d = {'k': 1}\nx = f'''{f'{d['k']}'}'''\n", "uses its own quote"),
        ("x = 1\ny = f'''{f'{x\n}'}'''\n", "braces go on over the next line"),
        # What 3.10 and 3.11 read: nested f-strings with other quotes, a triple-quoted one
        # holding its quote character alone.
        ("d = {'k': 1}\nx = f\"{f'{d[0:1]!r:>{3}}'}\"\n", ""),
        ("d = {'k': 1}\nx = f'''{f\"{d['k']}\"}'''\n", ""),
        ('d = {\'k\': 1}\nx = f"""{d["k"]}"""\n', ""),
    ],
    ids=[
        "nested-reuse",
        "nested-reuse-in-triple",
        "nested-over-a-line",
        "nested",
        "nested-triple",
        "triple",
    ],
)
def test_a_nested_f_string_is_read_as_python_3_10_reads_it(newer_python, source, says):
    said = newer_syntax_under(newer_python, source)
    assert (says in said and "as Python 3.10 does" in said) if says else said == ""


def test_a_source_the_tokenizer_of_3_12_fails_on_gets_no_traceback(newer_python):
    # Python 3.12.1's and 3.13.0's tokenizer raise SystemError on this, which their parser
    # reads: check.py ended in that traceback (where the tokenizer is fixed, nothing to say).
    source = "c = 1\ny = f'''{\"\"!r}{f'{c\n}'=}{1}'''\n"
    assert isinstance(newer_syntax_under(newer_python, source), str)  # no CalledProcessError


def test_a_tokenizer_failure_is_no_verdict_and_no_traceback(monkeypatch):
    # Whatever Python runs the check: a tokenizer that raises on a file that parsed says nothing
    # of it (the parse already did), rather than end the check in its traceback.
    def failing(readline):
        raise SystemError("Negative size passed to PyUnicode_New")

    monkeypatch.setattr(python_syntax, "_STARTS", {-1})
    monkeypatch.setattr(tokenize, "generate_tokens", failing)
    assert newer_syntax("x = 1\ny = f'{x}'\n") == ""
