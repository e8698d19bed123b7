"""The student's words: one sentence per known failure (problem and fix), and "did you mean".

Both the grader's session and the bundle's check word failures through these functions, so the
report, Gradescope, `grader check` and check.py say the same thing.
"""

from __future__ import annotations

import pytest

from grader.local_check import no_answer
from grader.student_text import (
    AUTOGRAD_OFF,
    PROCESS_ENDED,
    TRACEBACK,
    call_failure,
    did_you_mean,
    empty_file,
    explain_failure,
    import_failure,
    last_line,
    missing_function,
    render,
    scanned_out,
    summary_line,
    swapped_files,
    undecodable,
)


def traceback_of(last: str) -> str:
    return f'Traceback (most recent call last):\n  File "exercise1.py", line 3\n{last}\n'


@pytest.mark.parametrize(
    ("last", "says"),
    [
        (
            "FileNotFoundError: [Errno 2] No such file or directory: 'names.txt'",
            ("opens the file 'names.txt'", "empty folder"),
        ),
        ("EOFError: EOF when reading a line", ("input()", "remove the input() call")),
        ("bdb.BdbQuit", ("breakpoint()", "remove it")),
        ("ModuleNotFoundError: No module named 'matplotlib'", ("'matplotlib'", "only torch")),
        ("SystemExit", ("sys.exit() or exit()", "remove it")),
        ("SystemExit: 3", ("sys.exit() or exit()", "remove it")),
    ],
)
def test_an_import_time_failure_says_problem_and_fix(last: str, says: tuple[str, ...]) -> None:
    message = import_failure("exercise1", traceback_of(last))
    first = message.splitlines()[0]
    assert first.startswith("importing exercise1.py failed: ")
    assert all(word in first for word in says), first
    assert message.endswith(traceback_of(last)), "the traceback stays, below the sentence"


def through(source: str, missing: str) -> str:
    """A traceback whose student line `source` (exercise3.py, line 25) failed deeper, in a
    module of torch's that imports `missing`."""
    return (
        "Traceback (most recent call last):\n"
        f'  File "exercise3.py", line 25, in <module>\n    {source}\n'
        '  File "/site-packages/torch/fx/experimental/symbolic_shapes.py", line 3, in <module>\n'
        f"    import {missing}\n"
        f"ModuleNotFoundError: No module named '{missing}'\n"
    )


def test_a_module_missing_behind_the_student_s_line_names_that_line() -> None:
    """`import torch._dynamo` fails on torch's own `import sympy`: "it imports 'sympy'" sent
    the student looking for an import the file does not have."""
    message = explain_failure(through("import torch._dynamo", "sympy"))
    assert message.startswith("`import torch._dynamo` (line 25) needs 'sympy', which the grader")
    assert "remove it and use only torch" in message


def test_a_module_the_student_s_line_names_keeps_the_plain_sentence() -> None:
    message = explain_failure(through("import matplotlib.pyplot as plt", "matplotlib"))
    assert message.startswith("it imports 'matplotlib', which the grader does not have")


def test_an_unknown_failure_keeps_its_traceback_alone() -> None:
    tb = traceback_of("ZeroDivisionError: division by zero")
    assert explain_failure(tb) == ""
    assert import_failure("exercise2", tb) == f"importing exercise2.py failed:\n{tb}"
    assert summary_line(import_failure("exercise2", tb)) == (
        "importing exercise2.py failed: ZeroDivisionError: division by zero"
    )


def test_a_row_names_the_exception_the_latest_was_raised_from_or_while_handling() -> None:
    """The row gave the latest exception of a chain alone ("ValueError: no dh"), and the
    student lost its cause: the one before it is named after it, as Python links them."""
    tb = traceback_of("KeyError: 'no table'")
    cause = "\nThe above exception was the direct cause of the following exception:\n\n"
    handling = "\nDuring handling of the above exception, another exception occurred:\n\n"
    raised_from = tb + cause + traceback_of("ValueError: no dh")
    assert summary_line(raised_from) == "ValueError: no dh (caused by KeyError: 'no table')"
    three = tb + handling + traceback_of("ZeroDivisionError: division by zero") + cause
    three += traceback_of("NameError: name 'x' is not defined")
    assert summary_line(import_failure("exercise2", three)) == (
        "importing exercise2.py failed: NameError: name 'x' is not defined "
        "(caused by ZeroDivisionError: division by zero)"
    )
    assert summary_line(tb) == "KeyError: 'no table'"


def test_a_row_keeps_the_cause_where_the_latest_line_runs_long() -> None:
    """torch's internal assertion (190 characters) raised while handling the autograd ban's
    refusal: the row's cut at 300 characters kept torch's words and lost the refusal. The
    latest line gives way, and the row names the refusal, within the bound."""
    refusal = "noautograd.AutogradForbidden: torch.func (_grad_increment_nesting): " + AUTOGRAD_OFF
    handling = "\nDuring handling of the above exception, another exception occurred:\n\n"
    latest = "RuntimeError: !dynamicLayerStack.empty() INTERNAL ASSERT FAILED at " + "x" * 150
    chain = traceback_of(refusal) + handling + traceback_of(latest)
    row = summary_line(import_failure("exercise2", chain))
    assert len(row) <= 300 and "(while handling noautograd.AutogradForbidden: torch.func" in row
    assert "torch.func (_grad_increment_nesting)" in row, row
    assert row.startswith("importing exercise2.py failed: RuntimeError: !dynamicLayer"), row


def test_an_import_that_ended_the_process_says_so_on_its_first_line() -> None:
    """The reason without a traceback (the process ended: os._exit at import) was on the
    message's second line, and the table's row said "importing exercise2.py failed:" alone."""
    message = import_failure("exercise2", PROCESS_ENDED)
    assert message == f"importing exercise2.py failed: {PROCESS_ENDED}"
    assert summary_line(message) == message


def test_an_import_that_timed_out_says_why_on_the_table_s_row() -> None:
    """Both the grader's and check.py's import timeout put the reason on the second line, with
    no traceback after it: the row said "importing exercise3.py timed out:" and stopped."""
    message = f"importing exercise3.py timed out:\n{no_answer(20)}"
    assert summary_line(message) == (
        "importing exercise3.py timed out: no answer within 20 s (an endless loop?)"
    )


def test_an_allowed_argument_used_but_not_declared_says_declare_it() -> None:
    tb = traceback_of("NameError: name 'n' is not defined")
    message = call_failure("dlogprobs", tb, ["logprobs", "Yb"], frozenset({"logprobs", "Yb", "n"}))
    assert message.splitlines()[0] == (
        "`dlogprobs` uses `n` without declaring it: declare n as a parameter "
        "(def dlogprobs(..., n)); arguments are supplied by name"
    )


def test_a_name_that_is_not_an_argument_is_an_ordinary_name_error() -> None:
    tb = traceback_of("NameError: name 'dlogits' is not defined")
    assert call_failure("dprobs", tb, ["probs"], frozenset({"probs", "n"})) == tb


def test_did_you_mean_ignores_case() -> None:
    assert did_you_mean("dC", {"dc", "demb"}) == "did you mean `dc`?"
    assert did_you_mean("dC", {"dlogprobs", "dprobs"}) == ""


@pytest.mark.parametrize("defined", ["dhprebn_fused", "dhprebn2", "my_dhprebn", "DHPREBN_v2"])
def test_a_missing_function_names_its_own_name_with_a_word_added(defined: str) -> None:
    """A student who kept both versions apart (`dhprebn_fused` in exercise 2, `dlogits2`) was
    told only "no function `dhprebn`": difflib's ratio falls under its cutoff as the added
    word grows; in the notebook, the check cell then said to run a cell already run."""
    said = missing_function("dhprebn", "exercise2", {defined, "helper"}, frozenset({"dlogits"}))
    assert said.endswith(f"; you defined `{defined}`: did you mean `dhprebn`?"), said


def test_a_missing_function_is_not_told_another_graded_name_that_holds_it() -> None:
    """`dbnvar_inv` is exercise 1's answer to another question, never `dbnvar` misnamed; nor is
    a name that only starts with the missing one's letters (`dhprebnx`)."""
    expected = frozenset({"dbnvar", "dbnvar_inv"})
    assert missing_function("dbnvar", "exercise1", {"dbnvar_inv"}, expected).endswith("py")
    assert "did you mean" not in missing_function("dh", "exercise1", {"dhprebnx"}, expected)


def test_a_lecture_line_at_the_top_of_a_file_is_named_with_the_fix() -> None:
    """The lecture's `cmp('logprobs', dlogprobs, logprobs)` copied below a function runs when
    the file is imported, where no notebook variable exists: the row said only "importing
    exercise1.py failed: NameError: name 'cmp' is not defined", 26 items lost to one line."""
    tb = (
        f"{TRACEBACK}\n"
        '  File "exercise1.py", line 60, in <module>\n'
        "    cmp('logprobs', dlogprobs, logprobs)\n"
        "    ^^^\n"
        "NameError: name 'cmp' is not defined\n"
    )
    said = import_failure("exercise1", tb, brief=True)
    assert said == (
        "importing exercise1.py failed: line 60 runs as the file is imported, where `cmp` is "
        "not defined (a .py file has none of your notebook's variables): the grader only calls "
        'your functions, so remove the line or indent it under `if __name__ == "__main__":` '
        "(line 60: `cmp('logprobs', dlogprobs, logprobs)`)"
    ), said


def test_a_name_error_inside_a_function_called_at_import_keeps_its_own_words() -> None:
    """Only a line of the file's own top level is said to run at import: a NameError raised
    inside a function the top level called is that function's."""
    tb = (
        f"{TRACEBACK}\n"
        '  File "exercise1.py", line 60, in <module>\n'
        "    dprobs(1, 2)\n"
        '  File "exercise1.py", line 12, in dprobs\n'
        "    return probz\n"
        "NameError: name 'probz' is not defined\n"
    )
    assert import_failure("exercise1", tb, brief=True) == "importing exercise1.py failed:\n" + tb


@pytest.mark.parametrize(
    "reason", ["calls backward()", "uses torch.autograd", "reads .grad (through `helper`)"]
)
def test_autograd_read_in_the_file_is_said_as_the_autograd_ban_with_its_cure(reason: str) -> None:
    """`loss.backward()` inside the fused dlogits was told "the grader allows neither autograd
    nor code that could reach it unseen (eval or exec, getattr with a computed name, ...);
    remove it": a list of what the function never did, and no cure, where the same call met at
    run time is told to compute the gradient by hand."""
    said = scanned_out("dlogits", reason)
    assert said == (
        f"`dlogits` {reason}: the grader allows no autograd (backward(), torch.autograd, "
        "torch.func and .grad), so it scores 0; compute the gradient by hand"
    ), said


@pytest.mark.parametrize("reason", ["uses locals()", "uses eval (through `my_backward`)"])
def test_a_name_reached_unseen_is_said_as_before(reason: str) -> None:
    """No autograd in itself: the message names both what is refused and why."""
    assert "code that could reach it unseen (eval or exec" in scanned_out("dh", reason)


def test_an_empty_file_says_so() -> None:
    assert "exercise1.py is empty" in empty_file("exercise1", "\n  \n")
    assert empty_file("exercise1", "import torch\n") == ""


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_a_file_saved_as_utf16_is_called_so_not_binary(encoding: str) -> None:
    """Notepad's "Unicode" and PowerShell 5's `>` save UTF-16: its NULs made the message "a
    binary file, not Python source", of a text file its student can open and read."""
    said = undecodable("exercise1", "def dC(C):\n    return C\n".encode(encoding))
    assert said.startswith("exercise1.py is UTF-") and "save it as UTF-8" in said, said
    assert "binary" not in said


def test_a_binary_file_is_still_called_binary() -> None:
    assert undecodable("exercise1", b"\x7fELF\x02\x01\x00\x00junk\x00") == (
        "exercise1.py is a binary file, not Python source"
    )


def test_a_zip_or_a_notebook_given_a_py_name_is_called_what_it_is() -> None:
    """A zip renamed exercise1.py was "a binary file"; a notebook renamed exercise2.py failed
    its import with "NameError: name 'null' is not defined" under a line of its JSON."""
    import io
    import json
    import zipfile

    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as z:
        z.writestr("exercise1.py", "x = 1\n")
    said = undecodable("exercise1", packed.getvalue())
    assert said.startswith("exercise1.py is a zip archive renamed, not Python source")
    assert "name ending in .zip" in said
    notebook = {"cells": [{"cell_type": "code", "source": "x = None\n"}], "nbformat": 4}
    said = undecodable("exercise2", b"\xef\xbb\xbf\n " + json.dumps(notebook).encode())
    assert said.startswith("exercise2.py holds a Jupyter notebook (its JSON), not Python source")
    assert "name ending in .ipynb" in said
    assert undecodable("exercise2", b'cells = {"nbformat": 4}\n') == ""


def test_the_check_says_a_missing_file_s_reason_once_for_its_exercise(grader) -> None:
    """`grader check` and check.py printed "-> exercise1.py: not in your upload, which held
    ..." under each of exercise 1's 26 rows: the first row says it, the others "as above"."""
    from conftest import solution

    from grader.submissions import Submission

    held = "missing: not in your upload, which held exercise2.py, exercise3.py"
    files = {f: solution(f).encode() for f in ("exercise2", "exercise3")}
    sub = Submission("ada", {"exercise1": None, **files}, absent={"exercise1": held})
    table = render(grader.grade(sub).to_json(), where="ada")
    block = table.split("\nexercise1 ", 1)[1].split("\nexercise2 ", 1)[0]
    said = [line for line in block.splitlines() if line.startswith("      -> ")]
    assert said[0] == f"      -> exercise1.py: {held.removeprefix('missing: ')}"
    assert said[1:] == ["      -> as above"] * 25


def test_the_check_says_exercise_3_s_reason_once_under_its_training_row_too(grader) -> None:
    """Of an upload without exercise3.py, the check's training row read "-> step 1:
    exercise3.py: not in your upload, ..." under seven rows of "as above"."""
    from conftest import solution

    from grader.submissions import Submission

    held = "missing: not in your upload, which held exercise1.py, exercise2.py"
    files = {f: solution(f).encode() for f in ("exercise1", "exercise2")}
    sub = Submission("bob", {**files, "exercise3": None}, absent={"exercise3": held})
    table = render(grader.grade(sub).to_json(), where="bob")
    block = table.split("\nexercise3 ", 1)[1]
    said = [line for line in block.splitlines() if line.startswith("      -> ")]
    assert (
        said
        == [f"      -> exercise3.py: {held.removeprefix('missing: ')}"] + ["      -> as above"] * 7
    )


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        ("def dbnbias(dhpreact)\n    return dhpreact\n", "does not parse: SyntaxError"),
        ("import matplotlib.pyplot as plt\n", "it imports 'matplotlib'"),
    ],
    ids=["syntax", "import"],
)
def test_the_check_says_why_a_file_could_not_be_used_once_for_its_exercise(
    grader, broken, says
) -> None:
    """A file that does not parse or import fails each of its items alike: the report says it
    once for the exercise ("see the box above"), where the check repeated the SyntaxError, or
    "importing exercise1.py failed: it imports 'matplotlib' ...", under all 26 rows."""
    from conftest import solution

    from grader.submissions import Submission

    files = {f: solution(f).encode() for f in ("exercise1", "exercise2", "exercise3")}
    files["exercise1"] = broken.encode() + files["exercise1"]
    table = render(grader.grade(Submission("ada", files)).to_json(), where="ada")
    block = table.split("\nexercise1 ", 1)[1].split("\nexercise2 ", 1)[0]
    said = [line for line in block.splitlines() if line.startswith("      -> ")]
    assert says in said[0] and said[1:] == ["      -> as above"] * 25, said
    assert "as above" not in table.split("\nexercise2 ", 1)[1]


@pytest.mark.parametrize(
    ("alias", "imports"),
    [
        ("F", "import torch.nn.functional as F"),
        ("np", "import numpy as np"),
        ("torch", "import torch"),
    ],
)
def test_a_module_alias_never_imported_says_which_import_to_add(alias, imports) -> None:
    """Functions copied out of the lecture's notebook lose its first cell's imports: the row
    said only "NameError: name 'F' is not defined"."""
    traceback = (
        'Traceback (most recent call last):\n  File "exercise1.py", line 156, in dlogits\n'
        f"    dlogits += {alias}.one_hot(x)\nNameError: name '{alias}' is not defined\n"
    )
    said = explain_failure(traceback, "dlogits", ["x"], frozenset({"x", "n"}))
    assert said.startswith(f"`{alias}` is not defined") and f"add `{imports}`" in said, said
    assert explain_failure(traceback.replace(f"'{alias}'", "'foo'")) == ""


def test_the_check_says_a_wrong_return_of_exercise_3_once_for_its_gradients(grader) -> None:
    """A `backward` that returned six gradients failed each of the seven alike, and the check
    said "returned 6 values; expected 7: ..." under every row: now once, then "as above"."""
    from conftest import solution

    from grader.submissions import Submission

    files = {f: solution(f) for f in ("exercise1", "exercise2", "exercise3")}
    body, _ = files["exercise3"].rsplit("    return {", 1)
    files["exercise3"] = body + "    return [dC, dW1, db1, dbngain, dbnbias, dW2]\n"
    sub = Submission("cy", {f: text.encode() for f, text in files.items()})
    table = render(grader.grade(sub).to_json(), where="cy")
    said = [
        ln for ln in table.split("\nexercise3 ", 1)[1].splitlines() if ln.startswith("      -> ")
    ]
    assert said[0] == "      -> returned 6 values; expected 7: " + ", ".join(
        ["dC", "dW1", "db1", "dW2", "db2", "dbngain", "dbnbias"]
    )
    assert said[1:7] == ["      -> as above"] * 6
    assert "no parameter gradient of yours passed" in said[7]


def test_the_check_says_a_warning_once_whatever_sizes_it_quotes() -> None:
    """A size-1 slip warned once per public case, two lines that differ only by the case's
    sizes; a warning of another kind keeps its own line."""
    size_1 = "shape ({n},) differs from dbnmeani's (1, {n}) only by size-1 dimensions; accepted"
    dtype = "returned float64 while the inputs are float32; judged with the inputs' tolerance"
    item = {
        "id": "exercise1.dbnmeani",
        "exercise": "exercise1",
        "status": "passed",
        "warnings": [size_1.format(n=64), size_1.format(n=24), dtype],
        "cases": [{"status": "passed", "max_abs_err": 0.0, "shape": [64]}] * 2,
    }
    table = render({"submission": "ada", "items": [item]}, where="ada")
    warned = [line for line in table.splitlines() if "(warning)" in line]
    assert warned == [f"      (warning) {size_1.format(n=64)}", f"      (warning) {dtype}"]


def test_the_check_s_count_of_items_is_in_the_grader_s_words() -> None:
    """The table's last line counts what passed as the grader's lines do (passed_of): "N of M
    items passed", one item not "items" (it said "1 of 1 items pass")."""
    item = {"id": "exercise1.dh", "exercise": "exercise1", "status": "passed", "cases": []}
    table = render({"submission": "ada", "items": [item]}, where="ada")
    assert table.splitlines()[-1] == "1 of 1 item passed on the public cases."
    failed = {**item, "status": "failed"}
    table = render({"submission": "ada", "items": [item, failed]}, where="ada")
    assert table.splitlines()[-1] == "1 of 2 items passed on the public cases."


# What student code controls in the check's table: its printed output, its exceptions' words,
# and file names in the notes, each holding what drives a terminal.
DRIVES_TERMINAL = (
    "\x1b]52;c;ZXZpbA==\x07 \x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\ "
    "\x1b[2J\u202eecilA\rPASSED"
)


def test_the_check_s_table_drives_no_terminal() -> None:
    """`grader check` (which a TA may run on an upload) and the bundle's check.py print the
    table: student text in it wrote the clipboard (OSC 52), made links (OSC 8), cleared the
    screen and wrote over its own line; each control and bidi character is now its escape,
    and the table's own line breaks and tabs stay."""
    item = {
        "id": "exercise1.dlogprobs",
        "exercise": "exercise1",
        "status": "error",
        "message": f'{TRACEBACK}\n  File "exercise1.py", line 3\nValueError: {DRIVES_TERMINAL}',
        "warnings": [DRIVES_TERMINAL],
        "cases": [{"status": "error", "message": f"ValueError: {DRIVES_TERMINAL}"}],
    }
    result = {
        "submission": "ada",
        "items": [item],
        "output": {"exercise1": f"{DRIVES_TERMINAL}\n\tindented"},
        "student": {"notes": [f"exercise1.py: {DRIVES_TERMINAL}"]},
    }
    table = render(result, where=f"up{DRIVES_TERMINAL}")
    assert not [c for c in table if c not in "\n\t" and not c.isprintable()]
    assert "\\x1b]52;c;ZXZpbA==\\x07" in table and "\\u202eecilA\\rPASSED" in table
    assert "\n\tindented" in table


def test_a_carriage_return_in_an_exception_does_not_make_its_gist_a_pass() -> None:
    """Lines are split at line feeds only: `splitlines` also split at the `\r`, and the one-line
    gist of `ValueError: oops\r100/100 PASSED` on an item in error read `100/100 PASSED`."""
    from grader.report.summary import first_grader_error, gist

    message = "Traceback (most recent call last):\n  ...\nValueError: oops\r100/100 PASSED\n"
    assert last_line(message) == "ValueError: oops\r100/100 PASSED"
    assert gist(message).startswith("ValueError: oops")
    items = [{"extra": {"grader_error": "RuntimeError: x\r100/100 PASSED"}}]
    assert first_grader_error(items).startswith("RuntimeError: x")
    assert "oops" in summary_line(message)


def test_a_function_missing_from_a_notebook_says_a_deleted_cell_still_ran():
    """A cell run and then deleted leaves its function in the kernel, so the notebook's check
    said ok; the saved notebook lacks it, and the grader's "no function `dbnmeani` in exercise1
    of the notebook hw.ipynb" left the student, whose check had passed, to guess why."""
    from grader.student_text import in_notebook, missing_function

    where = in_notebook("exercise1", "hw.ipynb")
    said = missing_function("dbnmeani", "exercise1", {"dhprebn"}, frozenset(), where)
    assert said.startswith("no function `dbnmeani` in exercise1 of the notebook hw.ipynb; ")
    assert "deleted after it ran" in said and "Restart and run all" in said, said
    # A .py file has no kernel; a misspelt name in a notebook is told its fix first.
    assert missing_function("dbnmeani", "exercise1", set(), frozenset()) == (
        "no function `dbnmeani` in exercise1.py"
    )
    typo = missing_function("dbnmeani", "exercise1", {"d_bnmeani"}, frozenset(), where)
    assert "deleted" not in typo and "did you mean `dbnmeani`" in typo, typo


# Exercise 1 asks for these (among others), exercise 2 for two of the same names, exercise 3 for
# `backward`: the names overlap, as the lecture's do.
_ASKED = {
    "ex1": frozenset({"dlogprobs", "dprobs", "dlogits", "dhprebn"}),
    "ex2": frozenset({"dlogits", "dhprebn"}),
    "ex3": frozenset({"backward"}),
}
_EX1 = "def dlogprobs(): ...\ndef dprobs(): ...\ndef dlogits(): ...\ndef dhprebn(): ...\n"
_EX2 = "def dlogits(): ...\ndef dhprebn(): ...\n"


@pytest.mark.parametrize(
    "sources, swapped",
    [
        ({"ex1": _EX2, "ex2": _EX1, "ex3": "def backward(): ...\n"}, ("ex1", "ex2")),
        ({"ex1": _EX1, "ex2": "def backward(): ...\n", "ex3": _EX2}, ("ex2", "ex3")),
        ({"ex1": _EX1, "ex2": _EX1, "ex3": "def backward(): ...\n"}, None),  # a copy of its work
        ({"ex1": "", "ex2": _EX1, "ex3": "def backward(): ...\n"}, None),  # nothing in ex1
        ({"ex1": _EX1 + _EX2, "ex2": _EX1}, None),  # every function in both
        ({"ex1": _EX2, "ex2": "def (:\n" + _EX1}, None),  # ex2 does not parse: its message says
        ({"ex1": _EX2, "ex2": None}, None),  # ex2 not uploaded
    ],
)
def test_exercise_files_saved_under_each_other_s_names_are_said_swapped(sources, swapped):
    """Exercise 1's functions saved as ex2.py and exercise 2's as ex1.py drew only "no
    function" rows; a note now names the swap and the fix, and only a swap draws it."""
    notes = swapped_files(sources, _ASKED)
    if swapped is None:
        assert notes == []
        return
    a, b = swapped
    assert notes == [
        f"{a}.py holds the functions of {b}.py and {b}.py those of {a}.py: the two files look "
        f"swapped, and the grader reads each exercise from the file of its name; rename {a}.py "
        f"to {b}.py and {b}.py to {a}.py"
    ]


def test_files_that_define_only_their_own_exercise_s_names_are_not_parsed_again(monkeypatch):
    """Every grading asks whether files look swapped; parsing the solutions again took ~0.9 ms
    of it. A swap needs a file to define a name only the other's exercise asks for, which a
    search tells: files that do not are never parsed."""
    import grader.student_text as student_text

    def no_parse(source: str) -> set[str]:
        raise AssertionError("parsed")

    monkeypatch.setattr(student_text, "defined_names", no_parse)
    sources = {
        "ex1": _EX1 + "# backward is exercise 3's\n",
        "ex2": _EX2,
        "ex3": "def backward(): ...",
    }
    assert swapped_files(sources, _ASKED) == []


@pytest.mark.parametrize(
    ("func", "defined"),
    [
        ("tanh_backward", "tanh_grad"),
        ("tanh_backward", "backward_tanh"),
        ("flatten_consecutive_backward", "flatten_backward"),
    ],
)
def test_a_missing_function_names_a_rename_that_keeps_its_own_word(func: str, defined: str) -> None:
    """`tanh_backward` renamed `tanh_grad` was told only "no function `tanh_backward`": the
    name is too far for difflib and adds no word to it; the word only it has (tanh) tells."""
    expected = frozenset({"linear_backward", "tanh_backward", "flatten_consecutive_backward"})
    others = set(expected) - {func}
    said = missing_function(func, "layers", {defined, *others}, expected)
    assert said.endswith(f"; you defined `{defined}`: did you mean `{func}`?"), said


def test_a_missing_function_is_not_told_a_name_sharing_only_the_common_word() -> None:
    """`backward` is in every expected name: a helper `backward_pass` renames none of them."""
    expected = frozenset({"linear_backward", "tanh_backward"})
    said = missing_function(
        "tanh_backward", "layers", {"linear_backward", "backward_pass"}, expected
    )
    assert said == "no function `tanh_backward` in layers.py"


@pytest.mark.parametrize(("more", "said"), [(1, "; and 1 more cell"), (3, "; and 3 more cells")])
def test_the_notes_count_in_words_not_with_an_s_in_brackets(more: int, said: str) -> None:
    """Notes read "26 function(s) from 32 cell(s)", "1 function(s) from 1 cell(s)", "and 1
    more cell(s)" and check.py's training "first 1 step(s)": each now singular or plural."""
    from grader.backprop_ninja.spec import EXERCISE3_GRADS
    from grader.backprop_ninja.training_demo import check_table
    from grader.notebook import NotebookRead
    from grader.student_text import CELLS_NAMED, left_out_of_notebook

    cells = [
        {"cell": i, "dropped": ["line 1: !pip install torch"]} for i in range(CELLS_NAMED + more)
    ]
    (note,) = left_out_of_notebook({"graded": "hw.ipynb", "cells": cells})
    assert note.endswith(said) and "(s)" not in note, note
    read = NotebookRead("hw.ipynb", {}, {"a": ["f"], "b": ["f", "g"]}, used={"a": [3], "b": [4, 5]})
    assert (read.summary("a"), read.summary("b")) == (
        "1 function from 1 cell",
        "2 functions from 2 cells",
    )
    row = dict.fromkeys(EXERCISE3_GRADS, (0.0, True))
    assert check_table([row]).startswith("Your gradients against autograd, first 1 step (max")
    assert check_table([row, row]).startswith("Your gradients against autograd, first 2 steps (")
