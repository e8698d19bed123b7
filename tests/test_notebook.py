"""Reading a notebook: the code a module needs is taken, cell by cell, and nothing else is run.

The notebooks are built as Jupyter and Colab save them (tests/notebooks.py): outputs, execution
counts, cell ids or Colab's metadata ids, attachments, images.
"""

from __future__ import annotations

import json
import sys
import tokenize

import pytest
from conftest import solution
from notebooks import code, image, lecture_notebook, markdown, save, stream

from grader import notebook, notebook_file, notebook_json
from grader.notebook import NotebookError
from grader.notebook_file import read_notebook
from grader.notebook_instead import read_notebook_path
from grader.notebook_submissions import functions_of

FILES = ("exercise1", "exercise2", "exercise3")
FUNCTIONS = functions_of(FILES)


def read(cells_or_bytes, flavour="jupyter", name="Copy of backprop_ninja.ipynb"):
    data = cells_or_bytes if isinstance(cells_or_bytes, bytes) else save(cells_or_bytes, flavour)
    return read_notebook(data, name, FUNCTIONS)


def defs(source: str | None) -> list[str]:
    import ast

    if source is None:
        return []
    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


ONE = "def dlogits(logits, Yb, n):\n    return 1\n"
TWO = "def dlogits(logits, Yb, n):\n    return 2\n"


@pytest.mark.parametrize("flavour", ["jupyter", "colab"])
def test_a_lecture_style_notebook_gives_each_exercise_exactly_its_functions(flavour):
    files = {f: solution(f) for f in FILES}
    read_ = read(lecture_notebook(files, flavour))
    for f in FILES:
        assert read_.functions[f] == defs(files[f]), f
        # its own functions: the others' come in only when one of its own calls them
        assert defs(read_.sources[f]) == ["cmp", *defs(files[f])], f
    assert read_.implemented == 26 + 2 + 1
    # exercise 1's dlogits is the atomic one, exercise 2's the fused one
    assert "dlogit_maxes" in read_.sources["exercise1"].split("def dlogits")[1].split("def ")[0]
    assert "softmax" in read_.sources["exercise2"].split("def dlogits")[1]


def test_nothing_but_definitions_imports_and_constants_is_kept():
    files = {f: solution(f) for f in FILES}
    source = read(lecture_notebook(files)).sources["exercise2"]
    for never in ("while True", "matplotlib", "%", "!pip", "cmp('logprobs'", "open(", "range(2"):
        assert never not in source, never
    for kept in ("import torch", "n_embd = 10", "n = batch_size", "def cmp("):
        assert kept in source, kept
    compile(source, "exercise2", "exec")


def test_exercise_headings_tell_the_two_dlogits_apart_wherever_helpers_and_notes_are():
    cells = [
        code("import torch\n"),
        code("def shared_helper(x):\n    return x\n"),
        markdown("# Exercise 1\n"),
        markdown("some notes\n## Not an exercise heading\n"),
        code(ONE),
        code("def helper_in_one(x):\n    return x\n"),
        markdown("### exercise 2: fused\n"),
        code("x = 1\n"),
        code(TWO),
        markdown("# Exercise 3\n"),
        code("def backward(**kw):\n    return helper_in_one(shared_helper(kw))\n"),
    ]
    r = read(cells)
    assert "return 1" in r.sources["exercise1"] and "return 2" not in r.sources["exercise1"]
    assert "return 2" in r.sources["exercise2"] and "return 1" not in r.sources["exercise2"]
    for f in FILES:  # helpers are shared by every exercise, wherever they were written
        assert "def shared_helper" in r.sources[f] and "def helper_in_one" in r.sources[f]
    # exercise 3 asks for no dlogits and its backward calls none: it gets none
    assert "def dlogits" not in r.sources["exercise3"]
    assert r.functions["exercise3"] == ["backward"]


def test_backward_may_call_exercise_2s_fused_functions_as_it_may_in_a_kernel():
    """Exercise 3's docstring says to start from exercise 2's dlogits and go through BatchNorm
    with its dhprebn; in a kernel (and the notebook's own check) `backward` calling them works,
    so the grader's exercise 3 must have them, not raise a NameError (it once did: 30 points)."""
    fused_bn = "def dhprebn(dhpreact, n):\n    return 20\n"
    cells = [
        markdown("## Exercise 1\n"),
        code(ONE),
        code("def dhprebn(dbndiff, dbnmeani, n):\n    return 10\n"),
        code("def dbnraw(bngain, dhpreact):\n    return 100\n"),
        markdown("## Exercise 2\n"),
        code(TWO),
        code(fused_bn),
        markdown("## Exercise 3\n"),
        code(
            "def backward(logits, Yb, n, dhpreact):\n"
            "    return [dlogits(logits, Yb, n), dhprebn(dhpreact, n), dbnraw(0, 0)]\n"
        ),
    ]
    r = read(cells)
    namespace: dict = {}
    exec(compile(r.sources["exercise3"], "exercise3", "exec"), namespace)
    assert namespace["backward"](None, None, None, None) == [2, 20, 100]
    assert r.functions["exercise3"] == ["backward"]
    # each exercise keeps its own: exercise 1's are not "replaced" by exercise 2's
    assert "return 1" in r.sources["exercise1"] and "return 10" in r.sources["exercise1"]
    assert "return 20" not in r.sources["exercise1"] and "return 1\n" not in r.sources["exercise2"]
    assert not any("replaced" in d for c in r.cells for d in c.dropped)


def test_another_exercise_s_function_comes_only_where_it_is_called():
    """A function runs its default values when its module is imported: exercise 1's
    `n=Xb.shape[0]` (a kernel's variable, not in the grader's module) once failed the import of
    exercises 2 and 3, which never call it, and every function of theirs with it."""
    cells = [
        markdown("## Exercise 1\n"),
        code("def dlogprobs(logprobs, Yb, n=Xb.shape[0]):\n    return 1\n"),
        code("def dbnraw(bngain, dhpreact):\n    return 100\n"),
        markdown("## Exercise 2\n"),
        code("def dlogits(logits, Yb, n):\n    return dbnraw(0, 0)\n"),
        markdown("## Exercise 3\n"),
        code(
            "def backward(logits, Yb, n):\n    dlogprobs = 3\n    return dlogits(logits, Yb, n)\n"
        ),
    ]
    r = read(cells)
    for f in ("exercise2", "exercise3"):
        namespace: dict = {}
        exec(compile(r.sources[f], f, "exec"), namespace)  # imports: no Xb needed
        assert "dlogprobs" not in namespace, f  # a local of backward is no call of it
    assert namespace["backward"](None, None, None) == 100  # through exercise 2's, as a kernel


def test_a_code_comment_opens_a_section_too():
    r = read([code("# %% exercise1\n" + ONE), code("# Exercise 2\n" + TWO)])
    assert "return 1" in r.sources["exercise1"] and "return 2" in r.sources["exercise2"]


def test_cell_tags_place_cells_when_there_are_no_headings():
    r = read([code(TWO, tags=["exercise2"]), code(ONE, tags=["exercise1"])])
    assert "return 1" in r.sources["exercise1"] and "return 2" not in r.sources["exercise1"]
    assert "return 2" in r.sources["exercise2"]


def test_headings_win_over_a_tag_copied_from_another_section():
    r = read([markdown("## Exercise 2\n"), code(TWO, tags=["exercise1"])])
    assert r.functions["exercise2"] == ["dlogits"] and r.sources["exercise1"] is None


def test_without_any_marker_a_shared_name_goes_to_both_exercises():
    r = read([code(ONE)])
    assert r.functions["exercise1"] == r.functions["exercise2"] == ["dlogits"]


def test_the_last_definition_wins_and_the_record_says_which_was_replaced():
    r = read([markdown("## Exercise 2\n"), code(ONE), code("x = 3\n"), code(TWO)])
    assert "return 2" in r.sources["exercise2"] and "return 1" not in r.sources["exercise2"]
    first = next(c for c in r.cells if c.cell == 2)
    assert any("replaced by the one in cell 4 (" in d for d in first.dropped)


def test_two_definitions_run_bottom_then_top_are_named_in_a_note():
    """Out of order: the kernel (and the check cell run in it) had the upper `dlogits`, the grader
    takes the lower one; the check said ok, the grade said wrong, and nothing said why. The saved
    execution counts show it, and a note names both cells by the line after `# Exercise 2`."""
    upper, lower = code("# Exercise 2\n" + ONE, count=7), code("# Exercise 2\n" + TWO, count=6)
    r = read([markdown("## Exercise 2\n"), upper, code("x = 3\n", count=1), lower])
    assert "return 2" in r.sources["exercise2"]
    (note,) = [n for n in r.notes if n.startswith("`dlogits`")]
    assert 'cell 2 ("def dlogits(logits, Yb, n):")' in note and "lower, in cell 4" in note
    assert "cell 2 run after cell 4 (execution counts [7] and [6])" in note, note
    assert "Restart and run all" in note
    for counts in ((6, 7), (None, 6), (7, None), (3, 3)):
        cells = [code(ONE, count=counts[0]), code(TWO, count=counts[1])]
        notes = read([markdown("## Exercise 2\n"), *cells]).notes
        assert not [n for n in notes if "`dlogits`" in n], counts


def test_exercise_1_s_dlogits_run_again_after_exercise_2_s_is_named_for_exercise_3():
    """Exercise 3's backward calls the last `dlogits` defined: exercise 2's as the grader runs
    the cells, exercise 1's in a kernel where it was run again after exercise 2's. The check
    cell said ERROR, the grade said ok, and no note said why (only an exercise's own answers
    were compared, and exercise 1's `dlogits` is not exercise 2's)."""
    ex1 = "# Exercise 1\ndef dlogits(dnorm_logits, logits, dlogit_maxes):\n    return 0\n"
    backward = "# Exercise 3\ndef backward(logits, Yb, n):\n    return dlogits(logits, Yb, n)\n"
    cells = [
        markdown("## Exercise 1\n"),
        code(ex1, count=9),
        markdown("## Exercise 2\n"),
        code("# Exercise 2\n" + ONE, count=8),
        markdown("## Exercise 3\n"),
        code(backward, count=10),
    ]
    r = read(cells)
    assert "dnorm_logits" not in r.sources["exercise3"]  # exercise 2's, as the grader takes it
    (note,) = [n for n in r.notes if n.startswith("`dlogits`")]
    assert "cell 2 run after cell 4 (execution counts [9] and [8])" in note, note
    assert note.endswith(": Restart and run all"), note  # both stay: two exercises' answers
    cells[1] = code(ex1, count=7)  # run in order: nothing to say
    assert not [n for n in read(cells).notes if n.startswith("`dlogits`")]


def test_a_function_run_out_of_order_gets_one_note_of_a_bounded_size_however_many_cells():
    """One note per (cell, function) pair once let a notebook of 10,000 cells redefining
    `dlogits`, their execution counts falling and each of 4,000 digits, write 10,000 notes of
    8 KB twice into result.json (170 MB) and 84 MB into the report. The note is one per function:
    the upper cell run last (the kernel's), beside the lower one graded; a count no kernel
    gives (past a billion) is read as not recorded."""
    many = [code("# Exercise 2\n" + ONE, count=1000 - i) for i in range(200)]
    r = read([markdown("## Exercise 2\n"), *many, code("# Exercise 2\n" + TWO, count=5)])
    (note,) = [n for n in r.notes if n.startswith("`dlogits`")]
    assert "cell 2 run after cell 202 (execution counts [1000] and [5])" in note, note
    huge = [code(ONE, count=10**4000 - i) for i in range(3)]
    r = read([markdown("## Exercise 2\n"), *huge, code(TWO, count=10**4000 - 9)])
    assert not [n for n in r.notes if n.startswith("`dlogits`")]
    assert all(len(n) < 1000 for n in r.notes)


def test_a_note_names_a_cell_by_its_first_line_which_jupyter_and_colab_let_a_student_find():
    """Neither Jupyter nor Colab shows a cell's position; its first line can be searched for."""
    later = "\n\n   # my  second try\n" + TWO
    r = read([markdown("## Exercise 2\n"), code(ONE), code("x = 3\n"), code(later)])
    first = next(c for c in r.cells if c.cell == 2)
    assert 'replaced by the one in cell 4 ("# my second try")' in " ".join(first.dropped)
    assert [c.starts for c in r.cells] == [ONE.splitlines()[0], "x = 3", "# my second try"]
    long = code("y = " + "1 + " * 40 + "1\n")
    (cell,) = read([long]).cells
    assert len(cell.starts) == 50 and cell.starts.endswith("...")


def test_magics_and_shell_escapes_are_dropped_and_python_cell_magics_read():
    cells = [
        code("%matplotlib inline\n!pip install torch\nfiles = !ls\nimport torch\n"),
        code("%%time\n" + ONE.replace("1", "7")),
        code("%%bash\necho hi\n"),
        code("%%writefile x.py\ndef dhprebn():\n    pass\n"),
        code("def dhprebn(dhpreact):\n    if True:\n        %time y = 1\n    return dhpreact\n"),
    ]
    r = read(cells)
    src = r.sources["exercise2"]
    assert "import torch" in src and "return 7" in src and "return dhpreact" in src
    assert "%" not in src and "!" not in src and "echo" not in src
    dropped = " ".join(d for c in r.cells for d in c.dropped)
    for what in ("%matplotlib inline", "!pip install torch", "%%bash", "%%writefile"):
        assert what in dropped, what


@pytest.mark.parametrize(
    "help_line",
    [
        "F.one_hot?",
        "?F.one_hot",
        "F.cross_entropy??",
        "??F",
        "pip install einops",
        "matplotlib inline",
    ],
)
def test_ipython_help_or_automagic_in_a_functions_cell_is_blanked_not_the_whole_cell(help_line):
    """IPython runs `F.one_hot?` (help), or `pip install einops` (a magic without its `%`: Jupyter's
    and Colab's automagic), and then the cell's definition; the grader dropped the whole cell as
    not Python, and the function in it was graded missing."""
    cells = [
        code(help_line + "\n" + ONE.replace("1", "7")),
        code("def dhprebn(dhpreact):\n    " + help_line + "\n    return dhpreact  # why?\n"),
    ]
    r = read(cells)
    assert r.functions["exercise1"] == ["dlogits", "dhprebn"]
    src = r.sources["exercise1"]
    assert "return 7" in src and "return dhpreact  # why?" in src and help_line not in src
    assert all(f"{help_line} (an IPython command)" in " ".join(c.dropped) for c in r.cells)


def test_a_line_inside_a_string_or_brackets_is_never_read_as_an_ipython_command():
    """A cell with a magic is blanked line by line; a docstring opening `Why n-1 and not n?` was
    blanked as help (its body became code and the whole cell was dropped: dhprebn missing), and a
    bracket's continuation `time * 2)` or its opening `time = (time +` as the automagic %time.
    Only lines of their own are, and a command's own bracket opens nothing."""
    cells = [
        code(
            "%matplotlib inline\n"
            "def dhprebn(dhpreact, time=1):\n"
            '    """Why n-1 and not n?\n'
            "    pip install is not needed here\n"
            '    """\n'
            "    scale = (1 +\n"
            "             time * 0)\n"
            "    return dhpreact * scale\n"
        ),
        code('F.one_hot?\nLABEL = """\nrun ?\n"""\n' + ONE.replace("1", "7")),
        code("%timeit f(x\n!ls\ndef dlogprobs(logprobs):\n    return logprobs\n"),  # its own (
        code("!ls\ndef dbnvar(dbnvar_inv, time=1):\n    time = (time +\n        0)\n    return 1"),
    ]
    r = read(cells)
    assert "dhprebn" in r.functions["exercise2"] and "dlogits" in r.functions["exercise1"]
    assert "dbnvar" in r.functions["exercise1"] and "time = (time +\n" in r.sources["exercise1"]
    src = r.sources["exercise2"]
    assert "Why n-1 and not n?" in src and "pip install is not needed" in src
    assert "time * 0)" in src and 'LABEL = """\nrun ?\n"""' in r.sources["exercise1"]
    dropped = [d for c in r.cells for d in c.dropped]
    assert dropped == [
        "line 1: %matplotlib inline (an IPython command)",
        "line 1: F.one_hot? (an IPython command)",
        "line 1: %timeit f(x (an IPython command)",
        "line 2: !ls (an IPython command)",
        "line 1: !ls (an IPython command)",
    ], dropped


def _tokenizing_as_python_3_12(generate):
    """tokenize.generate_tokens as Python 3.12's stops at a string left open on its line, where
    3.10's and 3.11's give the quote as an ERRORTOKEN and read on (3.12's own passes through)."""

    def tokens(readline):
        for tok in generate(readline):
            if tok.type == tokenize.ERRORTOKEN and tok.string in "'\"":
                row, col = tok.start
                raise tokenize.TokenError(
                    f"unterminated string literal (detected at line {row})", (row, col + 1)
                )
            yield tok

    return tokens


CELL_AFTER_A_STRAY_QUOTE = (
    "!echo don't run this twice\n"
    "def dhprebn(dhpreact, time=1):\n"
    '    """Why n-1 and not n?\n'
    "    pip install is not needed here\n"
    '    """\n'
    "    return dhpreact\n"
)


@pytest.mark.parametrize("python", ["this one", "3.12"])
def test_a_stray_quote_in_a_command_leaves_the_docstring_after_it_whole(python, monkeypatch):
    """Python 3.12's tokenizer stopped at `don't`: the docstring's lines below were blanked as
    help and pip (3.11 read on), which left the cell unparsable and dhprebn missing on Ubuntu
    24.04's Python alone. 3.12's stop is made here on whatever Python runs the test."""
    if python == "3.12":
        monkeypatch.setattr(
            tokenize, "generate_tokens", _tokenizing_as_python_3_12(tokenize.generate_tokens)
        )
    r = read([code(CELL_AFTER_A_STRAY_QUOTE)])
    assert "dhprebn" in r.functions["exercise1"]
    assert "Why n-1 and not n?" in r.sources["exercise1"]
    assert r.cells[0].dropped == ["line 1: !echo don't run this twice (an IPython command)"]


def test_a_stray_closer_in_a_command_ends_no_bracket_opened_after_it():
    """`!echo }` left Python 3.11's tokenizer a bracket short: it ended `scale = (1 +` at its
    line, and `time * 0)` below was blanked as the automagic %time (3.12 read it as inside)."""
    cell = "!echo }\ndef dhprebn(dhpreact, time=1):\n    scale = (1 +\n             time * 0)\n"
    r = read([code(cell + "    return dhpreact * scale\n")])
    assert "dhprebn" in r.functions["exercise1"] and "time * 0)" in r.sources["exercise1"]
    assert r.cells[0].dropped == ["line 1: !echo } (an IPython command)"]


def test_an_import_the_grader_lacks_is_dropped_with_a_note_not_the_exercise():
    r = read(
        [code("import torch\nimport matplotlib.pyplot as plt\nimport no_such_pkg_xyz\n" + ONE)]
    )
    assert (
        "matplotlib" not in r.sources["exercise1"] and "no_such_pkg" not in r.sources["exercise1"]
    )
    notes = r.cells[0].dropped
    assert any("matplotlib" in d and "not installed" in d for d in notes)
    assert r.functions["exercise1"] == ["dlogits"]


def test_constants_are_literals_and_arithmetic_on_earlier_constants():
    cells = [
        code(
            "EPS = 1e-5\nSIZES = (27, 32)\nTWICE = 2 * EPS\nname: str = 'x'\n"
            "g = torch.Generator()\nwords = open('names.txt').read()\nlogits = h @ W2\n"
            "dlogprobs = torch.zeros(1)\n" + ONE
        )
    ]
    src = read(cells).sources["exercise1"]
    for kept in ("EPS = 1e-5", "SIZES = (27, 32)", "TWICE = 2 * EPS", "name: str = 'x'"):
        assert kept in src
    for dropped in ("Generator", "open(", "h @ W2", "dlogprobs = "):
        assert dropped not in src


def test_a_cell_that_is_not_python_is_dropped_with_its_error():
    r = read([code("def dlogits(:\n"), code(ONE)])
    assert r.functions["exercise1"] == ["dlogits"]
    assert "not valid Python" in r.cells[0].dropped[0]


def test_a_cell_holding_a_nul_is_dropped_without_a_line_none():
    """Python names no line for a NUL: the note read "not valid Python (line None: ...)"."""
    r = read([code("x = 1\n\x00\n"), code(ONE)])
    assert r.cells[0].dropped == [
        "the whole cell: not valid Python (source code string cannot contain null bytes)"
    ]


def test_a_cell_newer_than_the_graders_oldest_python_is_dropped_whatever_python_reads_it():
    # Read by Python 3.11, `except*` kept the cell that a grader on 3.10 drops (and 3.12's
    # f-strings likewise: tools/student-pythons.sh): the notebook's own check cell agreed with
    # neither. The cell is read as Python 3.10 reads it.
    newer = (
        "def dlogits(logits, Yb, n):\n"
        "    try:\n        pass\n    except* ValueError:\n        pass\n"
    )
    r = read([code(newer), code("def dh(dlogits, W2):\n    return 1\n")])
    assert r.functions["exercise1"] == ["dh"]
    assert "not valid Python" in r.cells[0].dropped[0]
    if sys.version_info >= (3, 11):  # 3.10 refuses it in its own words
        assert "as Python 3.10 does" in r.cells[0].dropped[0]


def test_the_assignment_notebooks_own_setup_cells_are_not_read():
    r = read([code("# backprop-ninja: setup\ndef dlogits(logits):\n    return 9\n"), code(ONE)])
    assert "return 9" not in r.sources["exercise1"]


def test_the_record_names_each_cell_taken_and_dropped_and_is_json():
    files = {f: solution(f) for f in FILES}
    r = read(lecture_notebook(files))
    record = json.loads(json.dumps(r.to_json()))
    assert set(record) >= {"name", "functions", "cells", "cells_used", "notes"}
    taken = {t for c in record["cells"] for t in c["taken"]}
    dropped = " ".join(d for c in record["cells"] for d in c["dropped"])
    assert "def dlogprobs" in taken and "def backward" in taken
    assert "while loop" in dropped and "for loop" in dropped and "call of cmp" in dropped
    assert r.summary("exercise1") == f"26 functions from {len(r.used['exercise1'])} cells"


def test_the_lectures_own_notebook_says_where_the_assignment_notebook_is():
    cells = [
        code("import torch\n"),
        code("dlogprobs = torch.zeros_like(logprobs)\ndprobs = (1.0 / probs) * dlogprobs\n"),
        code("cmp('logprobs', dlogprobs, logprobs)\n"),
    ]
    r = read(cells, name="makemore_part4_backprop.ipynb")
    assert all(v is None for v in r.sources.values())
    (note,) = r.notes
    assert "top-level statements" in note and "backprop_ninja.ipynb" in note
    assert "backprop-ninja-student.zip" in note


@pytest.mark.parametrize(
    "data, says",
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "UTF-16 text, not UTF-8"),
        (b"[1, 2]", "is not a Jupyter notebook: its JSON is a list"),
        (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}', ""),
        (b"[" * 100000 + b"]" * 100000, ""),
    ],
)
def test_what_is_not_a_notebook_gets_a_clear_message(data, says):
    with pytest.raises(NotebookError) as e:
        read(data)
    assert says in str(e.value) and "Copy of backprop_ninja.ipynb" in str(e.value)


@pytest.mark.parametrize(
    "encoding, says",
    [
        ("cp1252", "byte 0x92 on line "),  # Notepad's "ANSI": the lecture’s apostrophe
        ("utf-16", "UTF-16 text, not UTF-8"),  # Notepad's "Unicode", PowerShell 5's `>`
    ],
)
def test_a_notebook_re_saved_in_another_encoding_says_where_and_what_to_do(encoding, says):
    """Jupyter and Colab write UTF-8 only: other bytes mean an editor re-saved the file. The note
    said "not a text file (invalid continuation byte at byte 352595)": no cause, no cure."""
    cells = [markdown("The lecture\u2019s notebook\n"), code(ONE)]
    data = save(cells).decode().replace("\\u2019", "\u2019").encode(encoding)  # not escaped
    with pytest.raises(NotebookError) as e:
        read(data)
    said = str(e.value)
    assert says in said and "not a text file" not in said
    assert "download it again" in said and "save it as UTF-8" in said
    if encoding == "cp1252":
        assert "The lecture\ufffds notebook" in said  # the line, to find it by


def test_an_old_nbformat_3_notebook_is_converted_and_read():
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {"name": "old"},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "heading", "level": 2, "source": ["Exercise 2"], "metadata": {}},
                    {
                        "cell_type": "code",
                        "language": "python",
                        "input": TWO.splitlines(keepends=True),
                        "outputs": [],
                        "metadata": {},
                    },
                ],
                "metadata": {},
            }
        ],
    }
    r = read(json.dumps(v3).encode())
    assert r.functions["exercise2"] == ["dlogits"] and r.sources["exercise1"] is None


def test_image_outputs_do_not_count_against_the_code_limit():
    files = {f: solution(f) for f in FILES}
    data = lecture_notebook(files, images=2000)  # a few MB of images
    assert len(data) > 2 * notebook.MAX_SOURCE_BYTES
    assert read(data).implemented == 29


def test_a_notebook_too_big_to_read_is_refused_with_the_fix(monkeypatch):
    monkeypatch.setattr(notebook_file, "MAX_NOTEBOOK_BYTES", 10_000)
    data = save([code(ONE, outputs=[image(100)])])
    with pytest.raises(NotebookError, match="Clear all outputs"):
        read(data)


def test_a_cell_whose_lines_hold_other_than_text_is_read_without_them_and_named():
    """A cell's source list holding a number or null (no editor writes one; a script or a hand
    edit does) refused the whole notebook, in Python's words ("TypeError: sequence item 0:
    expected str instance, int found"): the good cells beside it scored 0."""
    odd = code("x = 1\n")
    odd["source"] = [1, None, "y = 2\n"]
    r = read([odd, code(ONE)])
    assert r.functions["exercise1"] == ["dlogits"]
    assert r.notes[0] == (
        "Copy of backprop_ninja.ipynb: cell 1's source holds NoneType, int among its lines of "
        "text, which no notebook editor writes: read without them (save the notebook again in "
        "Jupyter or Colab)"
    )


def test_a_cell_whose_source_is_no_text_is_not_read_and_named():
    """A cell's source that is a JSON object, a number or null (no editor writes one; a script
    or a hand edit does) was read as its value's printing (`{'a': 'def dlogits...'}`, `42`)
    and dropped as "an expression" as if the student had written one; no note said why the
    cell's code was not taken (thirty-ninth session)."""
    cells = [code("x = 1\n"), code(ONE), code("y = 2\n"), code("z = 3\n")]
    cells[0]["source"] = {"a": ONE}
    cells[2]["source"], cells[3]["source"] = 42, None
    r = read(cells)
    assert r.functions["exercise1"] == ["dlogits"]
    assert r.notes[0] == (
        "Copy of backprop_ninja.ipynb: the sources of cells 1, 3 and 4 are a JSON object or a "
        "number or null, not text, which no notebook editor writes: those cells are not read "
        "(save the notebook again in Jupyter or Colab)"
    )
    assert all(not c.dropped for c in r.cells)  # nothing of theirs read as an expression
    alone = read([{**code("x = 1\n"), "source": True}, code(ONE)])
    assert alone.notes[0] == (
        "Copy of backprop_ninja.ipynb: cell 1's source is true or false, not text, which no "
        "notebook editor writes: the cell is not read (save the notebook again in Jupyter or "
        "Colab)"
    )


def test_outputs_holding_other_than_text_and_a_version_written_as_text_do_not_refuse_a_notebook():
    """The grader reads no output, yet an output's line that was a number refused the notebook
    (nbformat joins their lines), `"nbformat": "4"` read as "Unsupported nbformat version 4",
    whose advice was to save it as nbformat 4, and metadata that was a list read as "TypeError:
    pop expected at most 1 argument"."""
    printed = stream("a\n")
    printed["text"] = ["a\n", 5]
    data = json.loads(save([code(ONE, outputs=[printed, image()])]))
    data["nbformat"], data["nbformat_minor"] = "4", "5"
    data["cells"].append(7)
    data["cells"].append({"cell_type": "code", "metadata": ["odd"], "source": "x = 1\n"})
    data["metadata"] = "odd"
    r = read(json.dumps(data).encode())
    assert r.functions["exercise1"] == ["dlogits"]
    assert not any("source holds" in n for n in r.notes)


def test_a_notebook_or_cell_without_metadata_is_read_not_refused():
    """A notebook made by a script or by hand may leave out `metadata`, of a cell or of the
    whole notebook (no editor does): nbformat then refused the whole notebook in Python's words,
    "could not be read as a notebook (AttributeError: metadata)", and its good cells scored 0;
    an nbformat 3 notebook without it read "ValidationError: Notebook could not be converted"."""
    data = json.loads(save([markdown("# Exercise 1"), code(ONE), code("x = 1\n")]))
    del data["metadata"]
    for cell in data["cells"]:
        del cell["metadata"]
    r = read(json.dumps(data).encode())
    assert r.functions["exercise1"] == ["dlogits"]
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [{"cells": [{"cell_type": "code", "input": ONE, "outputs": []}]}],
    }
    assert read(json.dumps(v3).encode()).functions["exercise1"] == ["dlogits"]


@pytest.mark.parametrize("json_text", ["[1, 2]", "null", '"notebook"', "4"])
def test_json_that_is_no_object_is_said_to_be_no_notebook_in_words(json_text):
    """A file of valid JSON that is no object (a list, null) was refused in Python's words,
    "could not be read as a notebook (AttributeError: 'list' object has no attribute 'get')",
    with the advice to save it as nbformat 4, which says nothing of what is wrong."""
    with pytest.raises(NotebookError) as e:
        read(json_text.encode())
    assert "Error" not in str(e.value), str(e.value)
    assert "is not a Jupyter notebook" in str(e.value)


@pytest.mark.parametrize("version", ["\u00b2", "9" * 5000])
def test_a_version_written_as_other_text_than_a_few_digits_is_named_unsupported(version):
    """`"nbformat": "\u00b2"` passed str.isdigit, and 5,000 digits passed it too: int() refused
    both, and the notebook was refused in Python's words ("ValueError: invalid literal for
    int() with base 10", "Exceeds the limit (4300 digits)")."""
    data = json.loads(save([code(ONE)]))
    data["nbformat"] = version
    with pytest.raises(NotebookError) as e:
        read(json.dumps(data).encode())
    assert "Unsupported nbformat version" in str(e.value), str(e.value)
    assert "ValueError" not in str(e.value)


def empty_objects(count: int) -> bytes:
    """A notebook whose cells are `count` empty objects: 3 bytes each, zipped to almost nothing."""
    return (
        b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": ['
        + b",".join([b"{}"] * count)
        + b"]}"
    )


def test_a_notebook_of_more_objects_than_any_real_one_is_refused_before_it_is_parsed():
    """nbformat turns every object into a NotebookNode of ~500 bytes: 12 MB of `{},` took 2.4 GB
    and 60 MB 10.6 GB, far under the byte limit. Counting them first costs a scan of the text."""
    with pytest.raises(NotebookError) as e:
        read(empty_objects(notebook_json.MAX_JSON_CONTAINERS + 1))
    assert "too many parts" in str(e.value) and "Clear all outputs" in str(e.value)


def test_counting_a_notebook_s_parts_costs_a_piece_of_it_whatever_its_escapes():
    """The count that bounds a notebook's reading cost memory itself: its regular expression kept
    a mark for each escape of a string, ~75 bytes, and a 61 MB notebook of `\\n` escapes (60 KB
    zipped, under the 64 MiB limit) took the grader's own process 3.7 GB before any sandbox, on
    Gradescope an out-of-memory kill, in a class's batch every student's grading with it."""
    import tracemalloc

    text = '{"cells": [], "a": "' + "\\n" * 2_000_000 + '"}'
    tracemalloc.start()
    try:
        counts = notebook_json._json_counts(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert counts == (2, 4)
    assert peak < 16 << 20, peak  # a few pieces of 1 MiB; it was 285 MB


def test_a_long_output_costs_the_reading_no_more_than_a_few_pieces_of_it():
    """An output of 30 MB and one emoji anywhere: Python holds every character of a text with
    one such in 4 bytes, so reading took 174 MB (a 63 MB notebook, the emoji in its output, 560 MB
    of the grader's own process). The middles of long strings, which the grader never reads, are
    left out before decoding; the code and the headings are read as before."""
    import tracemalloc

    work = '# Exercise 1\ndef dlogprobs(logprobs):\n    return -1.0 / logprobs  # \u00e9 \\ "\n'
    cells = [
        markdown("## Exercise 1 \U0001f600\n" + "q" * (3 << 20) + "\n## Exercise 1"),
        code(work, outputs=[stream("a" * (30 << 20))]),
    ]
    data = save(cells).replace(b"\\ud83d\\ude00", "\U0001f600".encode())  # as Colab saves it
    tracemalloc.start()
    try:
        read_cells = notebook_file.cells_of(data, "hw.ipynb")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, peak  # a few pieces, 4 bytes a character; it was 174 MB
    assert read_cells[1]["source"] == work
    assert read_cells[0]["source"].endswith("q\n## Exercise 1")
    assert read(data).functions["exercise1"] == ["dlogprobs"]


@pytest.mark.parametrize("over", [True, False])
def test_notebook_text_leaves_out_the_middle_of_a_long_output_only_from_8_mib(over):
    """notebook_text's own cut (`_DROP_FROM`, 8 MiB), held on what it keeps rather than on the
    memory it spares: in a notebook of 8 MiB or more, the middle of a long output's string
    gives way to one run of dots, and the code, the markdown and every line break stay as
    saved; a smaller notebook is decoded whole. Without the cut the output was kept whole."""
    work = '# Exercise 1\ndef dlogprobs(logprobs):\n    return -1.0 / logprobs  # \u00e9 \\ "\n'
    size = notebook_json._DROP_FROM + (1 << 20) if over else notebook_json._DROP_FROM - (1 << 20)
    cells = [markdown("## Exercise 1"), code(work, outputs=[stream("a" * size)])]
    data = save(cells)
    assert (len(data) >= notebook_json._DROP_FROM) == over
    text = notebook_json.notebook_text(data, "hw.ipynb")
    assert text.count("\n") == data.decode().count("\n")  # line numbers of notes hold
    read_cells = json.loads(text)["cells"]
    assert "".join(read_cells[1]["source"]) == work
    assert "".join(read_cells[0]["source"]) == "## Exercise 1"
    output = "".join(read_cells[1]["outputs"][0]["text"])
    if over:
        # One stand-in for the whole run of pieces left out, the output's ends kept.
        assert len(text) < len(data) - (size >> 1), len(text)
        assert output.startswith("a") and output.endswith("a")
        assert "." * (notebook.MAX_SOURCE_BYTES + 1) in output
        assert output.count(".") == notebook.MAX_SOURCE_BYTES + 1
    else:
        assert text == data.decode()
        assert output == "a" * size


@pytest.mark.parametrize(("before_a_cut", "spaces"), [(99, 100), (5_000, 20), (4_001, 0)])
def test_a_code_cell_too_large_to_read_stays_so_however_its_string_falls_on_the_pieces(
    before_a_cut, spaces
):
    """A cell's one-line source of 3 MiB in a notebook over 8 MiB: the middles dropped from
    long strings before decoding left its first and last few bytes where it began just before
    a piece's end and ended just after one, and those glued together (`return 1+1` and the
    blanks of its end) were read as the student's code, where the whole cell was dropped as
    larger than 256 KiB."""
    piece = notebook_json._COUNT_PIECE

    def saved(pad: int, extra: int) -> bytes:
        work = "def dlogprobs(logprobs):\n    return 1" + "+1" * (3 << 19) + " " * extra + "\n"
        long = code(work, outputs=[stream("a" * (9 << 20))])
        return save([code("x = 0  #" + "p" * pad + "\n"), long])

    # The long string starts `before_a_cut` bytes before a piece ends, and its blanks reach a
    # few bytes past one.
    pad = -(saved(0, 0).index(b"def dlogprobs") + before_a_cut) % piece
    end = saved(pad, 0).index(b"\\n", saved(pad, 0).index(b"return 1"))
    data = saved(pad, (-end % piece) + spaces)
    assert (data.index(b"def dlogprobs") + before_a_cut) % piece == 0
    r = read(data)
    assert r.functions["exercise1"] == [], r.sources
    assert "the whole cell: larger than 262144 bytes" in r.cells[1].dropped, r.cells


@pytest.mark.parametrize("piece", [1, 2, 3, 7])
def test_the_count_is_exact_across_pieces_however_escapes_fall(monkeypatch, piece):
    """Pieces cut between a backslash and what it escapes, or inside a run of backslashes,
    would read a quote in a string as its end: every cut of a notebook with such strings counts
    as its parsed objects, lists and values say."""
    monkeypatch.setattr(notebook_json, "_COUNT_PIECE", piece)
    data = json.loads(save([code('s = "\\\\\\"{[,"\n'), code(ONE)]))
    data["metadata"]["odd"] = ["\\", '\\"', "\\\\", "]}", '"', "\u00e9\\"]
    text = json.dumps(data)

    def walk(value) -> tuple[int, int]:
        kids = value.values() if isinstance(value, dict) else value
        if not isinstance(value, (dict, list)):
            return 0, 1
        counts = [walk(k) for k in kids]
        return 1 + sum(c for c, _ in counts), 1 + sum(v for _, v in counts)

    containers, values = walk(data)
    keys = text.count('": ')  # each key is a value the count may take a comma for, not parse
    assert notebook_json._json_counts(text)[0] == containers
    assert values <= notebook_json._json_counts(text)[1] <= values + keys


def test_a_cell_too_large_to_read_costs_no_more_than_its_text_before_it_is_dropped():
    """Its first lines (what marks its exercise and names it in notes) were read by splitting
    the whole cell into lines, twice, before its size was checked: a cell of 15 million lines
    of `ab` (a 57 MB notebook, under the 64 MiB limit) took the grader's own process 2.1 GB and
    9 s, to be dropped as larger than 256 KiB."""
    import tracemalloc

    big = "# Exercise 1\n" + "ab\n" * 1_000_000
    cells = [code(big), code(ONE)]  # its source a list of lines, as Jupyter saves it
    tracemalloc.start()
    try:
        r = notebook.read_cells(cells, "nb.ipynb", FUNCTIONS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert r.functions["exercise1"] == ["dlogits"]
    assert r.cells[0].dropped == [f"the whole cell: larger than {notebook.MAX_SOURCE_BYTES} bytes"]
    assert r.cells[0].section == "exercise1" and r.cells[0].starts == "ab"
    assert peak < 4 * len(big), peak  # a copy or two of the text; it was 123 MB


def test_so_is_one_of_more_values_than_any_real_one():
    """A value costs less than an object (~100 bytes), but 60 MB of `"ab",` still took 1.3 GB."""
    values = b",".join([b'"ab"'] * notebook_json.MAX_JSON_VALUES)
    data = save([code(ONE)]).replace(b'"metadata": {', b'"x": [' + values + b'], "metadata": {', 1)
    with pytest.raises(NotebookError, match="too many parts"):
        read(data)


def test_brackets_and_commas_inside_strings_are_not_counted():
    """Code and outputs are strings: printed tensors (`[[0.1, ...]]`) and dicts are text."""
    printed = "tensor([[" + "0.1, " * 300_000 + '\\"{"]])\n'
    r = read([code(ONE, outputs=[stream(printed)]), code("x = [{}, {}]\n" * 1000)])
    assert r.functions["exercise1"] == ["dlogits"]


def test_a_notebook_is_read_up_to_a_bound_on_its_code_and_the_note_says_where_it_stopped():
    """Parsing costs ~10 s and 1 GB per MB of short statements: a notebook's code is read up to
    MAX_CODE_BYTES (25 times the lecture's), as a .py file is refused past its limit."""
    filler = "#" * (notebook.MAX_CODE_BYTES // 2 - 1) + "\n"  # each cell within its own bound
    assert len(filler) <= notebook.MAX_SOURCE_BYTES
    r = read([code(ONE), code(filler), code(filler), code(TWO)])
    assert "return 1" in r.sources["exercise1"] and "return 2" not in r.sources["exercise1"]
    assert "the notebook's code is over" in r.cells[2].dropped[0]
    (note,) = [n for n in r.notes if 'cells from cell 3 ("####' in n and "on were not read" in n]
    assert "keep only your code" in note


def test_ipython_commands_are_blanked_up_to_a_bound_and_the_cell_past_it_is_not_read():
    """Each command line costs an ast.parse: 3 MB of `%` lines took 20 s. A lecture notebook
    has a handful; a cell needing more than MAX_COMMAND_LINES in all is dropped whole."""
    commands = "%x\n" * (notebook.MAX_COMMAND_LINES + 1)
    r = read([code("%matplotlib inline\n" + ONE), code(commands + "y = 1\n"), code(TWO)])
    assert r.functions["exercise1"] == ["dlogits"] and "return 2" in r.sources["exercise1"]
    assert "more than 1000 IPython command lines" in r.cells[1].dropped[-1]
    assert len(r.cells[1].dropped) == notebook.MAX_COMMAND_LINES  # the first cell had one
    assert any('cells from cell 2 ("%x") on that hold one were not' in n for n in r.notes)


def test_code_over_the_size_limit_is_not_graded(monkeypatch):
    monkeypatch.setattr(notebook, "MAX_SOURCE_BYTES", 2_000)
    parts = [code(f"BIG{i} = " + repr("x" * 900) + "\n") for i in range(3)]
    r = read([code(ONE), *parts])
    assert r.sources["exercise1"] is None
    assert any("larger than 2000 bytes" in n for n in r.notes)
    r = read([code(ONE), code("BIG = " + repr("x" * 3000) + "\n")])  # one cell too big
    assert "BIG" not in r.sources["exercise1"]
    assert "larger than 2000 bytes" in r.cells[1].dropped[0]


def test_aliases_of_imported_modules_count_as_constants():
    cells = [code("import torch\nF = torch.nn.functional\ndtype = torch.float32\nx = plt.cm\n")]
    src = read([*cells, code(ONE)]).sources["exercise1"]
    assert "F = torch.nn.functional" in src and "dtype = torch.float32" in src
    assert "plt" not in src


def test_a_hostile_cell_costs_only_itself_and_the_record_stays_small():
    deep = "x = " + "-" * 200_000 + "1\n"  # deeper than any parser or unparser recursion
    calls = "".join(f"f({i})\n" for i in range(5000))
    r = read([code(deep), code(calls), code("BIG = 1\n" + "#" * (2 << 20)), code(ONE)])
    assert r.functions["exercise1"] == ["dlogits"] and "BIG" not in r.sources["exercise1"]
    record = r.to_json()
    assert len(json.dumps(record)) < 20_000
    (many,) = [c for c in record["cells"] if c["cell"] == 2]
    assert many["dropped"][-1] == f"... and {5000 - notebook.MAX_ENTRIES:,} more"
    assert "could not be parsed" in record["cells"][0]["dropped"][0]
    # Notes too: whatever place forgot to group its notes, the record keeps the first hundred.
    r.notes = [f"note {k}" for k in range(5000)]
    notes = r.to_json()["notes"]
    assert len(notes) == notebook.MAX_NOTES + 1 and notes[-1] == "... and 4,900 more"


def test_a_notebook_numbered_like_the_lectures_four_exercises():
    """The lecture: 1 atomic, 2 fused cross-entropy, 3 fused BatchNorm, 4 all together."""
    fused_bn = "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):\n    return 3\n"
    cells = [
        code("# Exercise 1: backprop through the whole thing manually\n" + ONE),
        code("def dhprebn(dbndiff, dbnmeani, n):\n    return 1\n"),
        code("# Exercise 2: backprop through cross_entropy but all in one go\n" + TWO),
        code("# Exercise 3: backprop through batchnorm but all in one go\n" + fused_bn),
        markdown("# Exercise 4: putting it all together!\n"),
        code("def dlogprobs(logprobs, Yb, n):\n    return 5\n"),
        code("def backward(**kw):\n    return dlogprobs(**kw)\n"),
    ]
    r = read(cells)
    assert r.functions == {
        "exercise1": ["dlogits", "dhprebn", "dlogprobs"],
        "exercise2": ["dlogits", "dhprebn"],
        "exercise3": ["backward"],
    }
    assert "return 1" in r.sources["exercise1"] and "return 3" not in r.sources["exercise1"]
    assert "return 3" in r.sources["exercise2"] and "return 1" not in r.sources["exercise2"]
    # dlogprobs under the last heading serves that section's backward, and exercise 1, which
    # has none of its own (as in a kernel, where it is defined once the cell has run)
    assert "return 5" in r.sources["exercise3"] and "return 5" in r.sources["exercise1"]


# Characters str.splitlines() breaks at but Python does not: in a comment or a string they are
# part of the line, and a kernel runs the cell as it is.
NOT_LINE_BREAKS = "\u2028\u0085\x0c"


def not_line_breaks_solution() -> dict[str, str]:
    """The solutions, exercise 2 with those characters in a comment, a docstring, a constant."""
    files = {f: solution(f) for f in FILES}
    src = files["exercise2"]
    src = src.replace(
        "    dlogits = F.softmax(logits, 1)\n",
        f"    # softmax{NOT_LINE_BREAKS}(as in the lecture)\n    dlogits = F.softmax(logits, 1)\n",
    )
    src = src.replace("in one formula.\n", f"in one formula.{NOT_LINE_BREAKS}\n")
    src += f'\n\nSEPARATORS = "a{NOT_LINE_BREAKS}b"\nprint(SEPARATORS)\n'
    assert src.count(NOT_LINE_BREAKS) == 4  # the comment, both docstrings, the constant
    compile(src, "exercise2", "exec")
    files["exercise2"] = src
    return files


def one_cell_per_exercise(files: dict[str, str]) -> list[dict]:
    return [cell for f in FILES for cell in (markdown(f"## Exercise {f[-1]}\n"), code(files[f]))]


def test_a_cell_with_characters_splitlines_breaks_at_but_python_does_not_is_kept_whole():
    files = not_line_breaks_solution()
    r = read(one_cell_per_exercise(files))
    assert r.functions["exercise2"] == defs(files["exercise2"])
    src = r.sources["exercise2"]
    for f in ("dlogits", "dhprebn"):  # each function exactly as written, characters and all
        assert _function(src, f) == _function(files["exercise2"], f), f
    assert f'SEPARATORS = "a{NOT_LINE_BREAKS}b"' in src
    dropped = [d for c in r.cells for d in c.dropped]
    assert not [d for d in dropped if "not valid Python" in d], dropped
    # line numbers in the record are the ones Jupyter shows: only \n, \r\n and \r end a line
    line = files["exercise2"].split("\n").index("print(SEPARATORS)") + 1
    assert f"line {line}: a call of print(...) (not run when grading)" in dropped, dropped
    # and so when a magic line is blanked first
    magic = read([code("%matplotlib inline\n" + files["exercise2"])])
    assert magic.functions["exercise2"] == ["dlogits", "dhprebn"]
    assert _function(magic.sources["exercise2"], "dlogits") == _function(src, "dlogits")


def test_those_characters_are_graded_as_the_same_code_in_a_py_file(grade):
    files = not_line_breaks_solution()
    r = read(one_cell_per_exercise(files))
    as_py, as_nb = grade(files), grade({f: r.sources[f] for f in FILES})
    assert as_nb["score"] == as_py["score"] == as_py["max_score"]
    statuses = [{i["id"]: i["status"] for i in result["items"]} for result in (as_py, as_nb)]
    assert statuses[0] == statuses[1]


def _function(source: str, name: str) -> str:
    import ast

    (fn,) = [n for n in ast.parse(source).body if getattr(n, "name", "") == name]
    return ast.get_source_segment(source, fn)


def test_a_cell_id_is_recorded_at_most_as_long_as_nbformat_allows():
    """nbformat gives a cell id 1 to 64 characters, but a notebook may hold anything there: a
    40 MB id was copied whole into result.json (40 MB per student), bounded only by the
    notebook's 64 MiB. Other JSON there (a number, a list) is no id at all."""
    cells = [markdown("## Exercise 2"), code(ONE), code(TWO), code(ONE)]
    nb = json.loads(save(cells))
    nb["cells"][1]["id"] = "x" * 1_000_000
    nb["cells"][2]["id"] = 12345
    nb["cells"][3]["id"] = ["a", {"b": "c" * 100}]
    r = read(json.dumps(nb).encode())
    assert [c.id for c in r.cells] == ["x" * notebook.MAX_CELL_ID, "", ""]


def test_a_colab_cell_s_id_is_read_from_its_metadata():
    """Colab saves nbformat 4.0, without cell ids, and keeps its own under each cell's metadata;
    an id of nbformat's own comes first."""
    cells = [markdown("## Exercise 2"), code(ONE), code(TWO)]
    nb = json.loads(save(cells))
    for cell in nb["cells"]:
        cell.pop("id", None)
    nb["nbformat_minor"] = 0
    nb["cells"][1]["metadata"] = {"id": "2Kx8pQ1vZt9L"}
    nb["cells"][2]["metadata"] = {"id": "colab-own"}
    nb["cells"][2]["id"] = "nbformat-own"
    r = read(json.dumps(nb).encode())
    assert [c.id for c in r.cells] == ["2Kx8pQ1vZt9L", "nbformat-own"]


def test_a_constant_set_in_two_cells_run_bottom_then_top_is_named_in_a_note():
    """`eps = 1e-5` above and `eps = 1e-3` below, run bottom first: the kernel (and the check
    cells) had 1e-5 and passed `dbnvar`, the grader takes the lower cell's 1e-3 and failed it,
    and nothing said why; a function defined twice out of order was already named so."""
    uses = "# Exercise 2\ndef dlogits(logits, Yb, n):\n    return eps\n"
    upper, lower = code("eps = 1e-5\n", count=9), code("eps = 1e-3  # trying\n", count=8)
    r = read([markdown("## Exercise 2\n"), upper, code(uses, count=10), lower])
    (note,) = [n for n in r.notes if n.startswith("`eps`")]
    assert 'set in cell 2 ("eps = 1e-5") and, lower, in cell 4' in note, note
    assert "cell 2 run after cell 4 (execution counts [9] and [8])" in note, note
    assert "Restart and run all" in note
    same = [code("eps = 1e-5\n", count=9), code(uses, count=10), code("eps = 1e-5\n", count=8)]
    for cells in (
        [code("eps = 1e-5\n", count=8), code(uses, count=10), code("eps = 1e-3\n", count=9)],
        same,  # the same value twice: whichever ran last, the grader's is the kernel's
    ):
        notes = read([markdown("## Exercise 2\n"), *cells]).notes
        assert not [n for n in notes if "`eps`" in n], notes


def test_a_lone_surrogate_in_a_cell_is_read_as_a_replacement_character_and_named(tmp_path):
    """A lone surrogate (the JSON text "\\ud800": half a UTF-16 pair, which no text file can
    hold) in a code cell dropped the whole cell, "it could not be parsed (UnicodeEncodeError)",
    and the student's functions in it with it. Jupyter reads such a notebook but can neither run
    that cell nor save it (jupyter_client and nbformat raise UnicodeEncodeError): the cell is
    read with U+FFFD in its place, and a note names the cell and the line."""
    cell = "def dlogits(logits, Yb, n):\n    label = 'X'\n    return 1\n"
    data = save([markdown("# Exercise 1"), code(cell)]).replace(b"'X'", b"'\\ud800'")
    r = read(data)
    assert r.functions["exercise1"] == ["dlogits"]
    assert "label = '\ufffd'" in r.sources["exercise1"]
    assert r.notes == [
        "Copy of backprop_ninja.ipynb: cell 2, line 2, holds \\ud800, half of a character "
        "(a lone UTF-16 surrogate), which no text file can hold and Jupyter can neither run nor "
        "save: read with \ufffd (U+FFFD) in its place; remove it from the cell"
    ]
    # The bundle's check reads the notebook without nbformat, and alike.
    path = tmp_path / "Copy of backprop_ninja.ipynb"
    path.write_bytes(data)
    expected = {f: frozenset(names) for f, names in FUNCTIONS.items()}
    checked = read_notebook_path(path, FILES, expected)
    assert checked.functions["exercise1"] == ["dlogits"] and checked.notes == r.notes
    # A pair of surrogates is one character (an emoji): nothing to say.
    r = read(save([code(cell)]).replace(b"'X'", b"'\\ud83d\\ude00'"))
    assert "label = '\U0001f600'" in r.sources["exercise1"] and r.notes == []
    # In code, not in a string: the cell is not valid Python, and says where.
    r = read(save([code("def dlogits(logits, Yb, n):\n    return X\n")]).replace(b"X", b"\\udfff"))
    assert r.notes[0].startswith("Copy of backprop_ninja.ipynb: cell 1, line 2, holds \\udfff")
    assert "not valid Python (line 2: invalid character" in r.cells[0].dropped[0]


def test_cells_of_the_same_oddity_are_named_in_one_note():
    """A script's notebook of thousands of cells, each holding a lone surrogate or a number among
    its lines, made a note a cell: 90,000 of them, a 40 MB result.json from a 4 MB notebook.
    Each oddity is one note naming its first cells and counting the rest."""
    cells = [code(f"x{k} = 'X'\n") for k in range(3_000)]
    r = read(save(cells).replace(b"'X'", b"'\\ud800'"))
    assert r.notes[:1] == [
        "Copy of backprop_ninja.ipynb: cell 1, line 1, holds \\ud800, half of a character (a "
        "lone UTF-16 surrogate), and so do cells 2, 3, 4, 5, 6 and 2,994 more, which no text "
        "file can hold and Jupyter can neither run nor save: read with \ufffd (U+FFFD) in its "
        "place; remove it from the cells"
    ]
    assert len(r.notes) == 2 and "defines none of the gradient functions" in r.notes[1]
    for cell in cells:
        cell["source"] = [1, "x = 1\n"]
    cells[2]["source"] = [None, "y = 2\n"]
    r = read(cells[:3])
    assert r.notes[0] == (
        "Copy of backprop_ninja.ipynb: the sources of cells 1, 2 and 3 hold NoneType, int among "
        "their lines of text, which no notebook editor writes: read without them (save the "
        "notebook again in Jupyter or Colab)"
    )
    assert len(read(cells).notes[0]) < 300


def test_a_number_longer_than_python_reads_is_named_in_words():
    """A 5,000-digit number (Python reads at most 4,300 digits as an int) read as "not valid
    JSON: Notebook does not appear to be JSON", which names neither what nor where."""
    data = save([code(ONE)]).replace(b'"execution_count": 1', b'"execution_count": ' + b"7" * 5000)
    with pytest.raises(NotebookError) as e:
        read(data)
    said = str(e.value)
    assert "not valid JSON" not in said, said
    assert said.startswith(
        "Copy of backprop_ninja.ipynb holds a number 5000 digits long on line 5 (`7777777777...`)"
    ), said


def test_an_nbformat_3_cell_whose_input_holds_numbers_is_read_without_them_and_named():
    """nbformat 3 keeps a code cell's lines in `input`: one holding a number refused the whole
    notebook in Python's words, "AttributeError: 'int' object has no attribute 'endswith'"."""
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {"cells": [{"cell_type": "markdown", "source": ["# Exercise 2"], "metadata": {}}]},
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": [1, *TWO.splitlines(keepends=True), None],
                        "outputs": [{"output_type": "stream", "text": [2]}],
                        "metadata": {},
                    }
                ]
            },
        ],
    }
    r = read(json.dumps(v3).encode())
    assert r.functions["exercise2"] == ["dlogits"]
    assert r.notes == [
        "Copy of backprop_ninja.ipynb: cell 2's source holds NoneType, int among its lines of "
        "text, which no notebook editor writes: read without them (save the notebook again in "
        "Jupyter or Colab)"
    ]


def test_the_bundle_reads_an_nbformat_3_notebook_s_cells_as_nbformat_upgrades_them():
    """The bundle's check reads notebooks without nbformat (notebook_json): an nbformat 3
    notebook, which the grader upgrades with nbformat and grades, was "no notebook" there. Its
    cells now read as nbformat's upgrade gives them to the grader: each worksheet's cells, a
    heading cell a markdown heading, `input` lines joined either way they were split."""
    from grader.notebook_json import cells_as_version_4, parse_notebook_json

    heading = {"cell_type": "heading", "level": 2, "metadata": {}, "source": "Exercise 1"}
    split = {
        "cell_type": "code",
        "input": ["import torch\n", "x = 1\n"],
        "language": "python",
        "metadata": {"tags": ["a"]},
        "outputs": [],
        "prompt_number": 4,
        "collapsed": True,
    }
    bare = {
        "cell_type": "code",
        "input": ["def f(x):", "    return x"],
        "language": "python",
        "metadata": {},
        "outputs": [],
    }
    text = {"cell_type": "markdown", "metadata": {}, "source": ["a\n", "b"]}
    sheets = [{"cells": [heading, split], "metadata": {}}, {"cells": [bare, text]}]
    raw = {"metadata": {"name": "x"}, "nbformat": 3, "nbformat_minor": 0, "worksheets": sheets}
    data = json.dumps(raw).encode()
    fields = ("cell_type", "source", "execution_count")
    by_nbformat = [{k: c.get(k) for k in fields} for c in notebook_file.cells_of(data, "a.ipynb")]
    ours = cells_as_version_4(parse_notebook_json(data.decode(), "a.ipynb"))
    assert [{k: c.get(k) for k in fields} for c in ours] == by_nbformat
    assert by_nbformat[0]["source"] == "## Exercise 1" and by_nbformat[2]["source"].count("\n") == 1
    assert ours[1]["metadata"]["tags"] == ["a"]


# Notebooks the grader reads with nbformat and the bundle's check reads without it, each once
# read otherwise by the two: exercise 2's `dlogits` under its heading, in the shape each
# version keeps cells in.
_BODY = ["def dlogits(logits, Yb, n):\n", "    return 2\n"]
_HEADING = "## Exercise 2"
_V4 = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
       "cells": [markdown(_HEADING), code("".join(_BODY))]}  # fmt: skip
_OLDER = {
    # nbformat 1: a list of code and text cells, the code in `code` (read as no code).
    "version 1": {
        "nbformat": 1,
        "cells": [
            {"cell_type": "text", "text": _HEADING},
            {"cell_type": "code", "code": "".join(_BODY), "prompt_number": 2},
        ],
    },  # fmt: skip
    # nbformat 2: worksheets, the lines of `input` joined with a line break between each two.
    "version 2": {
        "nbformat": 2,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "markdown", "source": [_HEADING]},
                    {
                        "cell_type": "code",
                        "input": [line.rstrip("\n") for line in _BODY],
                        "language": "python",
                        "outputs": [],
                        "prompt_number": 2,
                    },
                ]
            }
        ],
    },  # fmt: skip
    "version written as text": {**_V4, "nbformat": "4"},
    "version 3 written as text": {
        "nbformat": "3",
        "nbformat_minor": "0",
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "heading", "level": 2, "source": "Exercise 2"},
                    {"cell_type": "code", "input": _BODY, "language": "python", "outputs": []},
                ]
            }
        ],
    },  # fmt: skip
    "metadata a list": {
        **_V4,
        "metadata": ["x"],
        "cells": [{**c, "metadata": [1]} for c in _V4["cells"]],
    },  # fmt: skip
    "lines holding a number": {
        **_V4,
        "cells": [markdown(_HEADING), {**code(""), "source": [*_BODY, 7]}],
    },  # fmt: skip
    # Refused by both, in the same words.
    "version 5": {**_V4, "nbformat": 5},
    "no version and a markdown cell": {"cells": _V4["cells"], "metadata": {}},
    "version 1 with no cells": {"nbformat": 1},
}


def _both_readings(data: bytes) -> tuple[object, object]:
    """What the grader (notebook_file, with nbformat) and the bundle's check (notebook_instead,
    with notebook_json alone) read of a notebook's bytes: sources and notes, or the words
    refusing it."""
    from grader.backprop_ninja.student_check_driver import EXPECTED
    from grader.notebook_instead import _read_notebook

    def reading(read) -> object:
        try:
            r = read()
        except NotebookError as e:
            return str(e)
        return None if r is None else (r.sources, r.notes)

    name = "old.ipynb"
    return (
        reading(lambda: read_notebook(data, name, FUNCTIONS)),
        reading(lambda: _read_notebook(data, name, FILES, EXPECTED)),
    )


@pytest.mark.parametrize("case", sorted(_OLDER))
def test_the_bundle_check_reads_every_notebook_as_the_grader_does(case):
    """The bundle's check, reading notebooks without nbformat, read an nbformat 1 notebook's
    code as none, an nbformat 2 one's lines without the blank line nbformat's join puts between
    them, and a version written "4" or metadata that is a list as no notebook, where the grader
    read and graded each; it took a version 5 notebook for one, which the grader refuses. Both
    now refuse or mend with one code (notebook_json.prepared) and read the same cells."""
    grader, check = _both_readings(json.dumps(_OLDER[case]).encode())
    assert check == grader
    refused = case.startswith(("version 5", "no version", "version 1 with"))
    assert isinstance(grader, str) == refused, grader
    if not refused:
        assert "def dlogits" in grader[0]["exercise2"], grader


@pytest.mark.parametrize("data", [b"{not json", b"\xff\xfe{\x00}\x00", b"[1, 2]"])
def test_the_bundle_check_refuses_what_is_no_notebook_in_the_grader_s_words(data):
    """Bad JSON, UTF-16 text and JSON that is no object: the grader says why in words, and the
    bundle's check skipped each without one."""
    grader, check = _both_readings(data)
    assert isinstance(grader, str) and check == grader


GOOD_DH = "# Exercise 1\ndef dh(dlogits, W2):\n    return dlogits @ W2.T\n"
STALE_DH = "# Exercise 1\ndef dh(dlogits, W2):\n    return dlogits @ W2\n"
DLOGITS_2 = "%%time\n# Exercise 2\ndef dlogits(logits, Yb, n):\n    return logits\n"
CHECK_CELL = 'ninja_check("exercise1", globals())\n'
RUN_FUNCTIONS = {"exercise1": ("dh", "dlogits"), "exercise2": ("dlogits",)}


@pytest.mark.parametrize(
    "history, said",
    [
        # Run All put the stale copy below the good cell last; the good cell run again since:
        # the check judged the good one, the grader (the lower in the notebook) the stale one.
        (["", GOOD_DH, STALE_DH, CHECK_CELL, GOOD_DH, CHECK_CELL], "runs [1], [2] and [4]"),
        (["", STALE_DH, GOOD_DH, STALE_DH], "runs [1], [2] and [3]"),
        (["", GOOD_DH, STALE_DH, GOOD_DH, STALE_DH], "runs [1], [2], [3] and [4]"),
        # An edit run again, a cell run twice, or another exercise's name: one cell, no note.
        (["", STALE_DH, CHECK_CELL, GOOD_DH, CHECK_CELL, GOOD_DH], ""),
        (["", GOOD_DH, DLOGITS_2, GOOD_DH], ""),
        (["", DLOGITS_2, GOOD_DH.replace("dh(", "dlogits("), DLOGITS_2], ""),
    ],
)
def test_a_definition_run_again_after_another_cell_s_is_said_to_the_check(history, said):
    """The check cells judge the definition this kernel ran last; the grader, which reads the
    saved notebook, takes the lower of two cells defining one function. A cell run again after
    another cell's definition of its function (Run All, then the upper cell) passed the check
    and failed the grader, and the check said nothing of the other cell."""
    notes = notebook.returned_to(history, RUN_FUNCTIONS, "exercise1")
    if not said:
        assert notes == [], notes
        return
    (note,) = notes
    assert note.startswith("two or more cells this kernel ran define `dh` under Exercise 1"), note
    assert said in note and "Restart and run all" in note, note
