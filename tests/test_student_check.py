"""The student's check tells the truth: what the bundle's check.py says is what the grader says.

Each scenario is a "Why" of issue 12 as a student meets it: a file written in the student's own
folder, checked with the unpacked bundle's check.py (a subprocess that imports no grader), and
with the grader (the sandboxed pipeline, public cases only, as `grader check` runs it). The two
tables must be identical, and each must end in the verdict the maths deserves or a message that
names the problem and the fix; the same message reaches result.json and Gradescope's output.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
from conftest import ROOT, STUBS, mutated, solution
from test_lms import zipped

from grader import check_process
from grader.backprop_ninja.spec import EXERCISE2
from grader.bundle import write_student_bundle
from grader.gradescope.results import to_gradescope
from grader.sandbox import client as sandbox_client
from grader.sandbox import isolation
from grader.scoring import Rubric
from grader.student_text import AS_ABOVE, AUTOGRAD_OFF, PROCESS_ENDED, render
from grader.submissions import Submission

# Exception groups (except*) and __notes__ are Python 3.11's: 3.10 reads such files otherwise.
PY311 = sys.version_info >= (3, 11)

FILES = ("exercise1", "exercise2", "exercise3")
AFTER_IMPORTS = "(F.one_hot and F.softmax are handy)\n"
IMPORTS_EXERCISE2 = "from exercise2 import dlogits\n"

# name -> ({file: source}, the item to look at, words its row must show)
INDEX_ADD = (
    "    dC = torch.zeros_like(C)\n"
    "    dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))\n"
)
SPARSE_DC = (
    "    dC = torch.sparse_coo_tensor(Xb.reshape(1, -1), demb.reshape(-1, demb.shape[-1]), "
    "C.shape)\n"
)
META_DH = "    dh = torch.empty(dlogits.shape[0], W2.shape[0], device='meta')\n"
# A right dh in a tensor subclass whose `grad_fn` raises, and an answer whose `__class__`
# raises: asked whether it held a graph, the sandbox's process ended before it answered (the
# call read as a crash) and the check ended in a traceback.
ODD_GRAD_FN_DH = (
    "    class Odd(torch.Tensor):\n"
    "        @property\n"
    "        def grad_fn(self):\n"
    "            raise RuntimeError('no graph here')\n\n"
    "    dh = (dlogits @ W2.T).as_subclass(Odd)\n"
)
# A right dh in a tensor subclass whose every torch function raises SystemExit, and a list
# whose iteration does: reading the answer let them past an `except Exception`, and the
# sandbox's process ended before it answered (the call read as a crash).
EXITING_TENSOR_DH = (
    "    class Odd(torch.Tensor):\n"
    "        @classmethod\n"
    "        def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
    "            raise SystemExit('no reading here')\n\n"
    "    dh = (dlogits @ W2.T).as_subclass(Odd)\n"
)
EXITING_LIST_DH = (
    "    class Odd(list):\n"
    "        def __iter__(self):\n"
    "            raise SystemExit('no reading here')\n\n"
    "    return Odd([dlogits @ W2.T])\n"
)
# A right dh in a list whose iteration never ends: the grader's call timed out, while the
# check read the answer outside its time limit and never ended.
ENDLESS_LIST_DH = (
    "    class Odd(list):\n"
    "        def __iter__(self):\n"
    "            while True:\n"
    "                pass\n\n"
    "    return Odd([dlogits @ W2.T])\n"
)
# A callable helper whose signature cannot be read (its `__signature__` raises): the load that
# lists the file's functions ended the sandbox's process before it answered, and both of
# exercise 2's right functions read as a crash; the check ended in a traceback.
ODD_SIGNATURE_HELPER = (
    "\n\nclass Helper:\n"
    "    @property\n"
    "    def __signature__(self):\n"
    "        raise RuntimeError('no signature here')\n\n"
    "    def __call__(self, x):\n"
    "        return x\n\n\n"
    "helper = Helper()\n"
)
# The same helper whose `__signature__` raises SystemExit: past the reading's `except
# Exception`, the load ended the sandbox's process (every item of the file read as a crash)
# and check.py exited with the student's words.
EXITING_SIGNATURE_HELPER = ODD_SIGNATURE_HELPER.replace(
    "raise RuntimeError('no signature here')", "raise SystemExit('no signature here')"
)
# Exceptions whose reading raises: a cause that is a property of their own, a stub's
# NotImplementedError whose __str__ raises, or whose message is past the wire's 1 MiB. Each
# ended the sandbox's process before it answered (or sent a header it refused), and the call
# read as a crash; the check ended in a traceback where it read the cause. A cause that raises
# is no longer read with the words (`_exception_only` reads the exception alone): they show.
ODD_CAUSE_DH = (
    "    class Odd(Exception):\n"
    "        @property\n"
    "        def __cause__(self):\n"
    "            raise RuntimeError('no cause here')\n\n"
    "    raise Odd('odd')\n"
)
# The same, with a property that raises SystemExit or KeyboardInterrupt, which the reading's
# `except Exception` let through: the process ended unanswered again (read as a crash).
ODD_CAUSE_EXIT_DH = (
    "    class Odd(Exception):\n"
    "        @property\n"
    "        def __cause__(self):\n"
    "            raise SystemExit('no cause here')\n\n"
    "    raise Odd('odd')\n"
)
ODD_NOTES_INTERRUPT_DH = (
    "    class Odd(Exception):\n"
    "        @property\n"
    "        def __notes__(self):\n"
    "            raise KeyboardInterrupt\n\n"
    "    raise Odd('odd')\n"
)
ODD_TODO_DH = (
    "    class Todo(NotImplementedError):\n"
    "        def __str__(self):\n"
    "            raise RuntimeError('no words here')\n\n"
    "    raise Todo()\n"
)
LONG_TODO_DH = "    raise NotImplementedError('x' * 2_000_000)\n"
# An error raised from another, and one raised while handling another: the row and the
# report gave the latest alone, and the student lost the cause.
RAISED_FROM_DH = (
    "    try:\n"
    "        {}['no table']\n"
    "    except KeyError as e:\n"
    "        raise ValueError('no dh for this batch') from e\n"
)
RAISED_WHILE_HANDLING_DH = (
    "    try:\n        1 / 0\n    except ZeroDivisionError:\n        undefined_name\n"
)
# Forty long errors, each raised from the one before: the chain is cut to the bound, the
# latest whole and its cause next to it.
DEEP_CHAIN_DH = (
    "    def level(k):\n"
    "        if k == 0:\n"
    "            raise KeyError('the first ' + 'x' * 900)\n"
    "        try:\n"
    "            level(k - 1)\n"
    "        except Exception as e:\n"
    "            raise ValueError(f'level {k} ' + 'y' * 900) from e\n\n"
    "    level(40)\n"
)
ODD_CLASS_DH = (
    "    class Odd:\n"
    "        @property\n"
    "        def __class__(self):\n"
    "            raise RuntimeError('no class here')\n\n"
    "    return Odd()\n"
)

# Grad mode switched back on, with no backward(): the grader's sandbox refuses the switch itself
# (grad mode is off there for good), and forbade the file or the function; the check, which ran
# student code under a plain no_grad, passed them.
ENABLE_GRAD_DH = "    with torch.enable_grad():\n        dh = dlogits @ W2.T\n"
INFERENCE_OFF_DH = "    with torch.inference_mode(False):\n        dh = dlogits @ W2.T\n"
# inference_mode() on, then an in-place update after its block: nothing in the grader's sandbox,
# whose grad mode is off for good, where the check made an inference tensor and the update raised.
SOFTMAX_ROWS = "    dlogits = F.softmax(logits, 1)\n"
INFERENCE_SOFTMAX = "    with torch.inference_mode():\n        dlogits = F.softmax(logits, 1)\n"
INFERENCE_AT_IMPORT = "with torch.inference_mode():\n    ONES = torch.ones(2)\nONES += 1\n"
# A distribution's lazy parameter (`probs` of a Categorical made from logits), which torch
# computes under enable_grad(): the grader computes it with grad mode off, the check refused it.
CATEGORICAL_SOFTMAX = "    dlogits = torch.distributions.Categorical(logits=logits).probs.clone()\n"

# A right dh after a signal to its own process or a probe of another's, as the grader's process
# for student code has them: SIGKILL and os.abort() end it, SIGINT and SIGTERM are blocked
# there (nothing happens), another process may not be signalled. Sent for real, SIGKILL and
# abort ended check.py without its table, SIGTERM and SIGINT stopped it as a Ctrl-C does, and
# the probe of check.py's parent passed.
EPERM_WORDS = "PermissionError: [Errno 1] Operation not permitted"
SIGNALLED_DH = "    import os\n    import signal\n\n    {}\n    dh = dlogits @ W2.T\n"

# A thread started at import: the grader's process for student code may start none (the file
# failed to import there), the check started it and passed every function.
THREAD_AT_IMPORT = (
    "import threading\nimport time\n\n"
    "threading.Thread(target=time.sleep, args=(0.1,), daemon=True).start()\n"
)
# A right dh after closing the standard output, which the grader's process for it shrugs off:
# check.py, which runs student code in its own process, ended in a traceback without its table
# (its capture of prints thrown away, or its own stdout closed). The descriptor stays closed in
# the process, as in the grader's: the next call's os.close(1) fails in both.
CLOSING_DH = "    import os\n    import sys\n\n    {}\n    dh = dlogits @ W2.T\n"
# An endless loop after the check's timer signal is ignored, cancelled or blocked, which does
# nothing in the grader (its deadline is outside the student's process): TIMEOUT there, and
# check.py hung for good.
LOOPING_DLOGITS = "    import signal\n\n    {}\n    while True:\n        pass\n"
# A lecture cell's autograd check left at the top of a file: check.py, whose grad mode is off,
# ran into torch's "element 0 of tensors does not require grad" (ERROR), the grader into its ban.
BACKWARD_AT_IMPORT = "x = torch.ones(3, requires_grad=True)\n(x * 2).sum().backward()\n"
# The same through an engine of the file's own: the grader refuses run_backward on the engine's
# type, check.py refused it on torch's one engine alone and said ERROR (no grad_fn).
OWN_ENGINE_AT_IMPORT = (
    "x = torch.ones(3, requires_grad=True)\n"
    "engine = torch._C._ImperativeEngine()\n"
    "engine.run_backward(((x * 2).sum(),), (torch.ones(()),), False, False, (), False, False)\n"
)
# The same through the engine's type's bases, torch's own C type, which check.py's engine (a
# subclass) left as torch made it: ERROR here, the grader's ban there (thirty-eighth session).
BASE_ENGINE_AT_IMPORT = (
    "x = torch.ones(3, requires_grad=True)\n"
    "engine = torch._C._ImperativeEngine()\n"
    "{}(((x * 2).sum(),), (torch.ones(()),), False, False, (), False, False)\n"
)
SILENCED_TIMER = {
    "ignored": "signal.signal(signal.SIGALRM, signal.SIG_IGN)",
    "cancelled": "signal.setitimer(signal.ITIMER_REAL, 0)",
    "blocked": "signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])",
}
# Exit functions a file registers: the grader's process for it ends with os._exit and never
# runs them; check.py ran them after its table (a print after it, or a SIGKILL that lost it).
AT_EXIT = "import atexit\nimport os\n\natexit.register({})\n"
# A file that changes torch for the whole process, at import or in a call: in the grader only its
# own process meets the change; check.py's own reference (autograd's training run) met it too,
# and ended in a traceback.
ZERO_SUBTRACTION = "\ntorch.Tensor.__sub__ = lambda a, b: torch.zeros(())\n"
ONE_ROW_RANGE = "\nimport builtins\n\nbuiltins.range = lambda *a: [0]\n"
ONE_ROW_RANGE_ALL = ONE_ROW_RANGE + "builtins.all = lambda *a: True\n"
NO_SETATTR = "\nimport builtins\n\nbuiltins.setattr = lambda *a: None\n"
NO_TANH_DH = "    torch.tanh = None\n    dh = dlogits @ W2.T\n"
# torch.vmap's first call in a process loads its decompositions and notes so in its module's
# globals: torch's own change, which the second file's vmap must find made, as in one process.
VMAP_ONCE = "\n_doubled = torch.vmap(lambda row: 2 * row)(torch.ones(2, 3))\n"
# torch.func's transforms enter autograd, where the grader refuses them (here at import, which
# the scan lets through); check.py refused them later, at its grad switch, naming that refusal.
JACREV_AT_IMPORT = "\n_twice = torch.func.jacrev(lambda x: 2 * x)(torch.ones(3))\n"
# torch._dynamo imports sympy, which the grader's process refuses whoever imports it (the
# student's Python has it, a dependency of torch): check.py passed the file, the grader not.
DYNAMO_IMPORT = "import torch._dynamo\n"
# An operator looked up by name, which the grader refuses (torch.ops.aten.X for an X torch had
# not looked up before student code, and a TorchDispatchMode handed one): check.py passed both.
KRON_LOOKED_UP_DH = "    torch.ops.aten.kron.default(dlogits, dlogits)\n    dh = dlogits @ W2.T\n"
KRON_UNDER_A_DISPATCH_MODE_DH = (
    "    from torch.utils._python_dispatch import TorchDispatchMode\n\n"
    "    class Seen(TorchDispatchMode):\n"
    "        def __torch_dispatch__(self, func, types, args=(), kwargs=None):\n"
    "            return func(*args, **(kwargs or {}))\n\n"
    "    with Seen():\n"
    "        torch.kron(dlogits[:2], dlogits[:2])\n"
    "    dh = dlogits @ W2.T\n"
)
# torch.testing.assert_close, whose first call looks operators up: the grader's process made
# it before student code, and so must the check before it refuses look-ups.
ASSERT_CLOSE_DH = "    dh = dlogits @ W2.T\n    torch.testing.assert_close(dh, dh)\n"
# torch's state for the whole process that is no attribute, set by exercise 1 at import: in
# the grader only its own process has it; check.py kept it for the files after (exercise 3's
# `torch.zeros(C.shape)` was float64 and its index_add_ refused float32 rows, sums went through
# the student's mode) and for its own training run (the meta device ended it in a traceback).
FLOAT64_AT_IMPORT = "\ntorch.set_default_dtype(torch.float64)\n"
ZEROS_DC = "    dC = torch.zeros(C.shape)\n"
META_AT_IMPORT = '\ntorch.set_default_device("meta")\n'
HALF_SUMS_AT_IMPORT = (
    "\nfrom torch.overrides import TorchFunctionMode\n\n\n"
    "class HalfSums(TorchFunctionMode):\n"
    "    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
    "        out = func(*args, **(kwargs or {}))\n"
    "        return out * 0.5 if func is torch.Tensor.sum else out\n\n\n"
    "HalfSums().__enter__()\n"
)
# The warnings filters, which exercise 1 sets at import: check.py kept them for exercise 3,
# whose warning it then hid from its table or raised as the file's error.
WARNINGS_AT_IMPORT = "\nimport warnings\n\nwarnings.{}\n"
WARNS_AT_IMPORT = WARNINGS_AT_IMPORT.format('warn("mind the epsilon")')
# torch's process-wide settings as students set them at import: the grader's process sets the
# deterministic flag without importing torch's compiler (check.py failed the import, naming
# sympy) and takes the interop threads asked for without raising (check.py's torch, asked by
# the second file, raised: torch sets them once a process).
DETERMINISTIC_AT_IMPORT = "\ntorch.use_deterministic_algorithms(True)\n"
INTEROP_THREADS_AT_IMPORT = "\ntorch.set_num_interop_threads(1)\n"
# A warning at each call: the grader's process for the file prints it once; check.py printed it
# once a call (its putting back of the warnings filters made Python forget it had shown it).
WARNING_DH = (
    "    import warnings\n\n    warnings.warn('mind the shapes')\n    dh = dlogits @ W2.T\n"
)
# A standard module taken out of sys.modules by exercise 1 at import: in the grader only its own
# process meets that; check.py kept it for exercise 2, whose `import math` failed.
NO_MATH_AT_IMPORT = '\nimport sys\n\nsys.modules["math"] = None\n'
MATH_IMPORT = "\nimport math\n"
# An object whose every attribute raises, put into torch: the check's bookkeeping read it (its
# `__func__`, `__wrapped__`) outside the grader's conditions, and check.py ended in a traceback.
RAISING_OBJECT_INTO_TORCH = (
    "\n\nclass Odd:\n"
    "    def __getattr__(self, name):\n"
    "        raise RuntimeError('no ' + name)\n\n\n"
    "torch.manual_seed = Odd()\n"
)
# `__import__` with a globals that is no dict: Python ignores it for an absolute import, the
# grader's process reads it as no student file's; check.py read `.get` of it and failed the
# import (ERROR) where the grader imported the file and its scan forbade it.
ODD_GLOBALS_IMPORT = '\n_os = __import__("os", 1)\n'

DB2 = "    db2 = dlogits.sum(0)\n"
DIM_1_FOR_0 = "summed over dim 1 where this gradient sums over dim 0?"

SCENARIOS = {
    "a function that starts a thread": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dprobs = (1.0 / probs) * dlogprobs\n",
                "    import concurrent.futures\n\n"
                "    with concurrent.futures.ThreadPoolExecutor(2) as pool:\n"
                "        dprobs = pool.submit(lambda: (1.0 / probs) * dlogprobs).result()\n",
            )
        },
        "exercise1.dprobs",
        ("ERROR", "it starts a thread", "compute the gradient without threads"),
    ),
    "a file that changes torch's subtraction at import": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + ZERO_SUBTRACTION)},
        "exercise2.dhprebn",
        ("WRONG", "wrong shape"),  # its own dhprebn meets the change, as in the grader
    ),
    "a file that changes the builtin range at import": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + ONE_ROW_RANGE)},
        "exercise1.dlogprobs",
        ("ok",),  # exercise 1's own process never meets exercise 2's change
    ),
    "a file that changes the builtin range and all at import": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + ONE_ROW_RANGE_ALL)},
        "exercise1.dlogprobs",
        ("ok",),  # `all` blinded the check's own comparison of the builtins before and after
    ),
    "a file that changes the builtin setattr at import": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + NO_SETATTR)},
        "exercise2.dlogits",
        ("FORBIDDEN",),  # the scan's verdict; check.py printed nothing (its table was captured)
    ),
    "two files that call torch.vmap": (
        {
            name: mutated(name, AFTER_IMPORTS, AFTER_IMPORTS + VMAP_ONCE)
            for name in ("exercise1", "exercise2")
        },
        "exercise2.dlogits",
        ("ok",),  # check.py printed torch's warning that exercise2's vmap overrode operators
    ),
    "a file that calls torch.func.jacrev at import": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + JACREV_AT_IMPORT)},
        "exercise2.dlogits",
        ("FORBIDDEN", "torch.func (_grad_increment_nesting)"),
    ),
    "a function that looks an operator up by name": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", KRON_LOOKED_UP_DH)},
        "exercise1.dh",
        ("FORBIDDEN", "torch._C._jit_get_operation"),
    ),
    "a function that runs an operator under a TorchDispatchMode": (
        {
            "exercise1": mutated(
                "exercise1", "    dh = dlogits @ W2.T\n", KRON_UNDER_A_DISPATCH_MODE_DH
            )
        },
        "exercise1.dh",
        ("FORBIDDEN", "torch._C._get_operation_overload"),
    ),
    "a function that checks itself with assert_close": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ASSERT_CLOSE_DH)},
        "exercise1.dh",
        ("ok",),
    ),
    "a file that imports torch._dynamo": (
        {"exercise3": mutated("exercise3", AFTER_IMPORTS, AFTER_IMPORTS + DYNAMO_IMPORT)},
        "exercise3.dW1",
        ("ERROR", "`import torch._dynamo` (line 26) needs 'sympy'"),
    ),
    "a file that sets the default dtype at import": (
        {
            "exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + FLOAT64_AT_IMPORT),
            "exercise3": mutated("exercise3", "    dC = torch.zeros_like(C)\n", ZEROS_DC),
        },
        "exercise3.dC",
        ("ok",),  # exercise 3's own process has float32 for its default dtype
    ),
    "a file that sets the default device at import": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + META_AT_IMPORT)},
        "exercise3.training",
        ("ok",),  # check.py's own training run met the meta device: a traceback, no table
    ),
    "a file that leaves a torch function mode entered at import": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + HALF_SUMS_AT_IMPORT)},
        "exercise3.db2",
        ("ok",),  # only exercise 1's own process meets the mode
    ),
    **{
        f"a file that sets warnings.{call} at import": (
            {
                "exercise1": mutated(
                    "exercise1", AFTER_IMPORTS, AFTER_IMPORTS + WARNINGS_AT_IMPORT.format(call)
                ),
                "exercise3": mutated("exercise3", AFTER_IMPORTS, AFTER_IMPORTS + WARNS_AT_IMPORT),
            },
            "exercise3.dC",
            ("ok",),  # and exercise 3's warning among its prints, as in the grader
        )
        for call in ('filterwarnings("ignore")', 'simplefilter("error")')
    },
    "a file that asks for deterministic algorithms at import": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + DETERMINISTIC_AT_IMPORT)},
        "exercise1.dh",
        ("ok",),
    ),
    "two files that set torch's interop threads at import": (
        {
            name: mutated(name, AFTER_IMPORTS, AFTER_IMPORTS + INTEROP_THREADS_AT_IMPORT)
            for name in ("exercise1", "exercise2")
        },
        "exercise2.dlogits",
        ("ok",),
    ),
    "a function that warns at each call": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", WARNING_DH)},
        "exercise1.dh",
        ("ok",),  # and its warning printed once, as in the grader
    ),
    "a file that takes math out of sys.modules at import": (
        {
            "exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + NO_MATH_AT_IMPORT),
            "exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + MATH_IMPORT),
        },
        "exercise2.dlogits",
        ("ok",),  # exercise 2's own process has math
    ),
    "a file that puts into torch an object whose attributes raise": (
        {
            "exercise1": mutated(
                "exercise1", AFTER_IMPORTS, AFTER_IMPORTS + RAISING_OBJECT_INTO_TORCH
            )
        },
        "exercise1.dh",
        ("ok",),
    ),
    "__import__ with a globals that is no dict": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + ODD_GLOBALS_IMPORT)},
        "exercise2.dlogits",
        ("FORBIDDEN", "uses __import__"),
    ),
    "a function that deletes torch.tanh": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", NO_TANH_DH)},
        "exercise1.dh",
        ("ok",),
    ),
    # Syntax newer than the oldest Python the grader runs on: accepted where the file was read by
    # a newer Python (except* on 3.11, `f"{d["k"]}"` on Colab's 3.12), refused where it was not.
    # Both read it as 3.10 does, whatever Python they run on (tools/student-pythons.sh runs the
    # 3.12 cases).
    "uses except*, new in Python 3.11": (
        {
            "exercise2": mutated(
                "exercise2",
                AFTER_IMPORTS,
                AFTER_IMPORTS + "try:\n    pass\nexcept* ValueError:\n    pass\n",
            )
        },
        "exercise2.dlogits",
        # On Python 3.10 the file does not parse at all: its own SyntaxError is the message.
        ("ERROR", "does not parse")
        + (("Exception groups", "as Python 3.10 does") if PY311 else ("invalid syntax",)),
    ),
    "an exit function that prints": (
        {
            "exercise1": mutated(
                "exercise1", AFTER_IMPORTS, AFTER_IMPORTS + AT_EXIT.format("print, 'bye'")
            )
        },
        "exercise1.dC",
        ("ok",),
    ),
    "an exit function that kills its process": (
        {
            "exercise1": mutated(
                "exercise1",
                AFTER_IMPORTS,
                AFTER_IMPORTS + AT_EXIT.format("os.kill, os.getpid(), 9"),
            )
        },
        "exercise1.dC",
        ("ok",),
    ),
    **{
        f"an endless loop after the timer's signal is {how}": (
            {
                "exercise2": mutated(
                    "exercise2",
                    "    dlogits = F.softmax(logits, 1)\n",
                    LOOPING_DLOGITS.format(call),
                )
            },
            "exercise2.dlogits",
            ("TIMEOUT", "no answer within 10 s"),
        )
        for how, call in SILENCED_TIMER.items()
    },
    "sys.stdout.close() in a function": (
        {
            "exercise1": mutated(
                "exercise1", "    dh = dlogits @ W2.T\n", CLOSING_DH.format("sys.stdout.close()")
            )
        },
        "exercise1.dh",
        ("ok",),
    ),
    "sys.__stdout__.close() in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                CLOSING_DH.format("sys.__stdout__.close()"),
            )
        },
        "exercise1.dh",
        ("ok",),
    ),
    "os.close(1) in a function": (
        {
            "exercise1": mutated(
                "exercise1", "    dh = dlogits @ W2.T\n", CLOSING_DH.format("os.close(1)")
            )
        },
        "exercise1.dh",
        ("ERROR", "1/2", "Bad file descriptor"),
    ),
    "torch.set_grad_enabled(True) at import": (
        {
            "exercise3": mutated(
                "exercise3", AFTER_IMPORTS, AFTER_IMPORTS + "torch.set_grad_enabled(True)\n"
            )
        },
        "exercise3.dW1",
        ("FORBIDDEN", "importing exercise3.py ran into the grader's autograd ban", "(True)"),
    ),
    "backward() at import": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + BACKWARD_AT_IMPORT)},
        "exercise1.dh",
        ("FORBIDDEN", "importing exercise1.py ran into the grader's autograd ban", "run_backward"),
    ),
    "an engine of its own at import": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + OWN_ENGINE_AT_IMPORT)},
        "exercise1.dh",
        ("FORBIDDEN", "importing exercise1.py ran into the grader's autograd ban", "run_backward"),
    ),
    # torch's engine type is the last before `object` in any engine's __mro__: refused there
    # as here. super() of the type the grader's engine is finds no run_backward at all.
    **{
        f"an engine reached through {how} at import": (
            {
                "exercise1": mutated(
                    "exercise1", AFTER_IMPORTS, AFTER_IMPORTS + BASE_ENGINE_AT_IMPORT.format(call)
                )
            },
            "exercise1.dh",
            ("FORBIDDEN", "importing exercise1.py ran into the grader's autograd ban")
            if refused
            else ("ERROR", "AttributeError: 'super' object has no attribute 'run_backward'"),
        )
        for how, call, refused in (
            ("its type's bases", "type(engine).__mro__[-2].run_backward.__get__(engine)", True),
            ("super()", "super(type(engine), engine).run_backward", False),
        )
    },
    "with torch.enable_grad() in a function": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ENABLE_GRAD_DH)},
        "exercise1.dh",
        ("FORBIDDEN", "autograd ban", "torch._C._set_grad_enabled(True)"),
    ),
    "with torch.inference_mode(False) in a function": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", INFERENCE_OFF_DH)},
        "exercise1.dh",
        ("FORBIDDEN", "autograd ban", "inference_mode(False)"),
    ),
    "with torch.inference_mode(), then an in-place update after it": (
        {"exercise2": mutated("exercise2", SOFTMAX_ROWS, INFERENCE_SOFTMAX)},
        "exercise2.dlogits",
        ("ok",),
    ),
    "an inference_mode() tensor updated in place at import": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + INFERENCE_AT_IMPORT)},
        "exercise2.dlogits",
        ("ok",),
    ),
    "softmax as a Categorical's probs": (
        {"exercise2": mutated("exercise2", SOFTMAX_ROWS, CATEGORICAL_SOFTMAX)},
        "exercise2.dlogits",
        ("ok",),
    ),
    "os.kill(os.getpid(), SIGKILL) in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("os.kill(os.getpid(), signal.SIGKILL)"),
            )
        },
        "exercise1.dh",
        ("ERROR", PROCESS_ENDED),
    ),
    "os.abort() at import": (
        {
            "exercise2": mutated(
                "exercise2", AFTER_IMPORTS, AFTER_IMPORTS + "import os\nos.abort()\n"
            )
        },
        "exercise2.dhprebn",
        ("ERROR", "importing exercise2.py failed: the process running your code ended"),
    ),
    # An import that ends the process, or stops with SystemExit: the row said "importing
    # exercise2.py failed:" and no more (the reason was on the message's next line), or only
    # "SystemExit", in check.py and the grader alike.
    "os._exit(3) at import": (
        {
            "exercise2": mutated(
                "exercise2", AFTER_IMPORTS, AFTER_IMPORTS + "import os\nos._exit(3)\n"
            )
        },
        "exercise2.dlogits",
        ("ERROR", "importing exercise2.py failed: the process running your code ended"),
    ),
    "sys.exit() at import": (
        {
            "exercise2": mutated(
                "exercise2", AFTER_IMPORTS, AFTER_IMPORTS + "import sys\nsys.exit()\n"
            )
        },
        "exercise2.dlogits",
        ("ERROR", "importing exercise2.py failed: it calls sys.exit() or exit()"),
    ),
    "signal.raise_signal(SIGTERM) in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("signal.raise_signal(signal.SIGTERM)"),
            )
        },
        "exercise1.dh",
        ("ok",),
    ),
    "os.kill(os.getpid(), SIGINT) in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("os.kill(os.getpid(), signal.SIGINT)"),
            )
        },
        "exercise1.dh",
        ("ok",),
    ),
    "a probe of the parent process in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("os.kill(os.getppid(), 0)"),
            )
        },
        "exercise1.dh",
        ("ERROR", "os.kill: a student process may signal only itself"),
    ),
    # The grader's seccomp filter denies getrusage and a read with RWF_NOWAIT (each told which
    # pages of a file the page cache held): the check returned the count and read, and passed.
    "resource.getrusage in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format(
                    "import resource\n    resource.getrusage(resource.RUSAGE_SELF)"
                ),
            )
        },
        "exercise1.dh",
        ("ERROR", "PermissionError: [Errno 1] Operation not permitted"),
    ),
    "a read that refuses to wait for the disk in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("os.preadv(-1, [bytearray(1)], 0, os.RWF_NOWAIT)"),
            )
        },
        "exercise1.dh",
        ("ERROR", "PermissionError: [Errno 1] Operation not permitted"),
    ),
    "a read that may wait for the disk in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("os.preadv(-1, [bytearray(1)], 0, os.RWF_HIPRI)"),
            )
        },
        "exercise1.dh",
        ("ERROR", "OSError: [Errno 9] Bad file descriptor"),
    ),
    # What the grader's seccomp filter denies beside those (a pipe, a FIFO, a memfd, another
    # process's scheduling, priority or limits, a mapping of huge pages), its audit hook's fcntl
    # and ioctl commands, and the load averages and files of its empty /proc: the check let each
    # through and passed the function (thirty-ninth session).
    **{
        f"{call.split('(')[0]} in a function": (
            {
                "exercise1": mutated(
                    "exercise1",
                    "    dh = dlogits @ W2.T\n",
                    SIGNALLED_DH.format(f"import {module}\n    {call}"),
                )
            },
            "exercise1.dh",
            ("ERROR", said),
        )
        for module, call, said in (
            ("os", "os.pipe()", EPERM_WORDS),
            ("socket", "socket.socketpair()", EPERM_WORDS),
            ("os", "os.mkfifo('fifo')", EPERM_WORDS),
            ("os", "os.memfd_create('m')", EPERM_WORDS),
            ("os", "os.sched_getaffinity(os.getppid())", EPERM_WORDS),
            ("os", "os.getpriority(os.PRIO_PROCESS, os.getppid())", EPERM_WORDS),
            ("resource", "resource.prlimit(os.getppid(), resource.RLIMIT_NOFILE)", EPERM_WORDS),
            ("fcntl", "fcntl.fcntl(1, fcntl.F_SETPIPE_SZ, 4096)", "fcntl command 1031 is not"),
            ("fcntl", "fcntl.ioctl(1, 0x5402, bytes(60))", "ioctl 0x5402 is not allowed"),
            ("os", "os.getloadavg()", "OSError: Load averages are unobtainable"),
            ("mmap", "mmap.mmap(-1, 2**21, flags=0x40022)", EPERM_WORDS),  # MAP_HUGETLB
            ("os", "open('/proc/meminfo').read()", "it opens the file '/proc/meminfo'"),
        )
    },
    # The grader's process reads only the system's libraries, Python's installation and its
    # own empty folder: the check read any file by its absolute path (the grader's own here,
    # a student's `/content/names.txt`) and passed the function.
    "a file outside its folder read in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format(f"open({str(ROOT / 'README.md')!r}).read()"),
            )
        },
        "exercise1.dh",
        ("ERROR", f"it opens the file '{ROOT / 'README.md'}'"),
    ),
    # The grader's audit hook refuses sockets and file locks by name, as it refuses writes:
    # the check let them through and passed the function.
    "a socket in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("import socket\n    socket.socket().close()"),
            )
        },
        "exercise1.dh",
        ("ERROR", "PermissionError: socket.__new__ is not allowed in the grader"),
    ),
    "a file lock in a function": (
        {
            "exercise1": mutated(
                "exercise1",
                "    dh = dlogits @ W2.T\n",
                SIGNALLED_DH.format("os.lockf(1, os.F_TEST, 0)"),
            )
        },
        "exercise1.dh",
        ("ERROR", "it calls os.lockf, and the grader lets no code"),
    ),
    "a thread started at import": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + THREAD_AT_IMPORT)},
        "exercise1.dC",
        ("ERROR", "importing exercise1.py failed", "it starts a thread"),
    ),
    "reads names.txt at import": (
        {
            "exercise1": mutated(
                "exercise1", AFTER_IMPORTS, AFTER_IMPORTS + "w = open('names.txt')\n"
            )
        },
        "exercise1.dlogprobs",
        ("ERROR", "opens the file 'names.txt'", "empty folder"),
    ),
    # torch imports tqdm where it is installed (the grader's machine): the grader's student
    # process found it loaded and passed the file that the check, and a machine with torch
    # alone, refuse.
    "imports tqdm, which torch loaded": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + "import tqdm\n")},
        "exercise1.dlogprobs",
        ("ERROR", "it imports 'tqdm', which the grader does not have"),
    ),
    # The grader lets no code write: the words said it read a file, the local check passed it.
    "writes a log file at import": (
        {
            "exercise1": mutated(
                "exercise1", AFTER_IMPORTS, AFTER_IMPORTS + "open('log.txt', 'w').write('go')\n"
            )
        },
        "exercise1.dlogprobs",
        ("ERROR", "writes the file 'log.txt'", "print"),
    ),
    "torch.save in a function": (
        {
            "exercise2": mutated(
                "exercise2",
                "    dlogits = F.softmax",
                "    torch.save(logits, 'logits.pt')\n    dlogits = F.softmax",
            )
        },
        "exercise2.dlogits",
        ("ERROR", "writes the file 'logits.pt'", "print"),
    ),
    "makes a folder at import": (
        {
            "exercise3": mutated(
                "exercise3", AFTER_IMPORTS, AFTER_IMPORTS + "import os\nos.makedirs('runs')\n"
            )
        },
        "exercise3.dC",
        ("ERROR", "calls os.mkdir", "remove it"),
    ),
    # The grader runs a file from memory: its own path is not on disk there. The local check
    # once ran a copy on disk, so code reading itself passed here and cost the file there.
    "reads its own file through __file__ at import": (
        {
            "exercise1": mutated(
                "exercise1",
                AFTER_IMPORTS,
                AFTER_IMPORTS + "from pathlib import Path\nSOURCE = Path(__file__).read_text()\n",
            )
        },
        "exercise1.dlogprobs",
        ("ERROR", "opens the file 'exercise1.py'", "empty folder"),
    ),
    "reads its own file through __file__ in a function": (
        {
            "exercise2": mutated(
                "exercise2",
                "    dlogits = F.softmax",
                "    assert open(__file__).read()\n    dlogits = F.softmax",
            )
        },
        "exercise2.dlogits",
        ("ERROR", "opens the file 'exercise2.py'", "empty folder"),
    ),
    "input() at import": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + "x = input('go? ')\n")},
        "exercise2.dlogits",
        ("ERROR", "calls input()", "remove the input() call"),
    ),
    # A notebook copied or exported (File > Download .py) into an exercise file: "invalid syntax"
    # at a line the student never took for Python, and a NameError on get_ipython, said no cure.
    "a notebook's !pip line in the file": (
        {"exercise1": mutated("exercise1", AFTER_IMPORTS, AFTER_IMPORTS + "!pip install torch\n")},
        "exercise1.dlogprobs",
        ("ERROR", "`!pip install torch` is an IPython command", "remove it from the .py file"),
    ),
    "a notebook exported as a script, its magics get_ipython() calls": (
        {
            "exercise2": mutated(
                "exercise2",
                AFTER_IMPORTS,
                AFTER_IMPORTS + "get_ipython().run_line_magic('matplotlib', 'inline')\n",
            )
        },
        "exercise2.dlogits",
        ("ERROR", "it calls get_ipython(), which only a notebook has", "submit the notebook"),
    ),
    "a leftover breakpoint()": (
        {"exercise3": mutated("exercise3", AFTER_IMPORTS, AFTER_IMPORTS + "breakpoint()\n")},
        "exercise3.dC",
        ("ERROR", "breakpoint()", "remove it"),
    ),
    # The grader's sandbox cannot run torch's compiler: once `forbidden` there under the autograd
    # ban's words (an AttributeError about aten.set_) while the local check passed it.
    "@torch.compile on a helper": (
        {
            "exercise1": mutated(
                "exercise1",
                AFTER_IMPORTS,
                AFTER_IMPORTS + "@torch.compile\ndef twice(x):\n    return 2 * x\n",
            )
        },
        "exercise1.dlogprobs",
        ("ERROR", "torch.compile", "remove torch.compile"),
    ),
    # TorchScript is off in the grader: `forbidden` there under the autograd ban's words, naming
    # torch._C._jit_script_compile, while the local check passed it.
    "@torch.jit.script on a helper": (
        {
            "exercise2": mutated(
                "exercise2",
                AFTER_IMPORTS,
                AFTER_IMPORTS + "@torch.jit.script\ndef twice(x):\n    return 2 * x\n",
            )
        },
        "exercise2.dlogits",
        ("ERROR", "TorchScript", "remove it"),
    ),
    # The static scan once called it a way to autograd: `forbidden` in the grader, an error here.
    "a leftover breakpoint() in a function": (
        {
            "exercise2": mutated(
                "exercise2", "    dlogits = F.softmax", "    breakpoint()\n    dlogits = F.softmax"
            )
        },
        "exercise2.dlogits",
        ("ERROR", "breakpoint()", "remove it"),
    ),
    # The grader reads each file before it runs (staticscan): what it refuses, the local check
    # once passed. Honest debugging code costs the function, or the file at import time.
    "introspection left in a function": (
        {
            "exercise2": mutated(
                "exercise2",
                "    dlogits = F.softmax",
                "    print(logits.__class__)\n    dlogits = F.softmax",
            )
        },
        "exercise2.dlogits",
        ("FORBIDDEN", "__class__"),
    ),
    "introspection at the top": (
        {
            "exercise3": mutated(
                "exercise3", AFTER_IMPORTS, AFTER_IMPORTS + "_names = list(vars())\n"
            )
        },
        "exercise3.dC",
        ("FORBIDDEN", "vars()"),
    ),
    "n used but not declared": (
        {
            "exercise1": mutated(
                "exercise1", "def dlogprobs(logprobs, Yb, n):", "def dlogprobs(logprobs, Yb):"
            )
        },
        "exercise1.dlogprobs",
        ("ERROR", "declare n as a parameter"),
    ),
    "range(32) hard-coded": (
        {
            "exercise1": mutated(
                "exercise1",
                "dlogprobs[range(n), Yb] = -1.0 / n",
                "dlogprobs[range(32), Yb] = -1.0 / n",
            )
        },
        "exercise1.dlogprobs",
        ("ERROR", "1/2", "hard-coded size", "range(32)"),
    ),
    "one_hot(..., 27) hard-coded": (
        {
            "exercise2": mutated(
                "exercise2",
                "    dlogits = F.softmax(logits, 1)\n    dlogits[range(n), Yb] -= 1\n",
                "    dlogits = F.softmax(logits, 1) - F.one_hot(Yb, 27)\n",
            )
        },
        "exercise2.dlogits",
        ("ERROR", "1/2", "hard-coded size", "one_hot"),
    ),
    "exercise 3's dC[Xb] += demb": (
        {
            "exercise3": mutated(
                "exercise3",
                "dC.index_add_(0, Xb.reshape(-1), demb.reshape(-1, demb.shape[-1]))",
                "dC[Xb] += demb",
            )
        },
        "exercise3.dC",
        ("WRONG", "repeated characters must add up"),
    ),
    "dc for dC": (
        {"exercise1": mutated("exercise1", "def dC(", "def dc(")},
        "exercise1.dC",
        ("missing", "you defined `dc`: did you mean `dC`?"),
    ),
    # exercise 2's own name for its fused version: too long for difflib's 0.75 (0.7), and the
    # grader's session weighed no name over 1/0.6 of the missing one's length.
    "dhprebn_fused for dhprebn": (
        {"exercise2": mutated("exercise2", "def dhprebn(", "def dhprebn_fused(")},
        "exercise2.dhprebn",
        ("missing", "you defined `dhprebn_fused`: did you mean `dhprebn`?"),
    ),
    "the lecture's cmp line at the top of a file": (
        {
            "exercise1": mutated(
                "exercise1",
                "def dprobs(probs, dlogprobs):",
                "cmp('logprobs', dlogprobs, logprobs)\n\n\ndef dprobs(probs, dlogprobs):",
            )
        },
        "exercise1.dlogprobs",
        ("ERROR", "line 60 runs as the file is imported, where `cmp` is not defined", "__main__"),
    ),
    # The sandbox sends a tensor's values, which arrive contiguous: the check kept the
    # transpose's strides, so the chain's demb (`dembcat.view(emb.shape)`) raised there and
    # its dC was "not reached", where the grader's chain went on.
    "dembcat returned transposed": (
        {"exercise1": mutated("exercise1", "    return dembcat\n", "    return dembcat.T\n")},
        "exercise1.dembcat",
        ("WRONG", "transposed? check the order of the matrix product"),
    ),
    # The lecture's update (`p.data += -lr * grad`) done inside backward, the parameters
    # returned: every item said only "values differ".
    "exercise 3's backward returning the parameters after an update": (
        {
            "exercise3": mutated(
                "exercise3",
                "    return {\n",
                "    return {k: p - 0.1 * g for k, p, g in zip(('dC', 'dW1', 'db1', 'dW2', 'db2', "
                "'dbngain', 'dbnbias'), (C, W1, b1, W2, b2, bngain, bnbias), (dC, dW1, db1, dW2, "
                "db2, dbngain, dbnbias))}\n    return {\n",
            )
        },
        "exercise3.dW1",
        ("WRONG", "this is W1 after an update (W1 - 0.1 * dW1), not dW1"),
    ),
    # db1's truth is zero (BatchNorm subtracts b1 out): judged on a related gradient's scale,
    # the noise of a backward whose other gradients are n times too large fails it on one
    # public case at 2.1e-5 of it, a row saying only "values differ" of a value zero to five
    # places.
    "exercise 3's dlogits without its 1/n": (
        {"exercise3": mutated("exercise3", "    dlogits /= n\n", "")},
        "exercise3.db1",
        (
            "WRONG",
            "db1's true value is zero, so yours is rounding noise, here over the tolerance: dC, "
            "dW1, dW2, db2, dbngain, dbnbias are off by a factor n, and so is its noise: fix "
            "them first",
        ),
    ),
    "an empty file": (
        {"exercise1": ""},
        "exercise1.dlogprobs",  # the exercise's first row says it; the others, "as above"
        ("missing", "exercise1.py is empty"),
    ),
    # The bundle holds the stubs beside check.py, first on sys.path: the import once took
    # exercise 2's stub ("todo") where the grader says the import itself fails.
    "exercise3.py imports exercise2.py": (
        {"exercise3": mutated("exercise3", AFTER_IMPORTS, AFTER_IMPORTS + IMPORTS_EXERCISE2)},
        "exercise3.dW1",
        ("ERROR", "imports 'exercise2', which the grader does not have"),
    ),
    "a flipped sign": (
        {
            "exercise1": mutated(
                "exercise1",
                "dlogprobs[range(n), Yb] = -1.0 / n",
                "dlogprobs[range(n), Yb] = 1.0 / n",
            )
        },
        "exercise1.dlogprobs",
        ("WRONG", "the sign is flipped"),
    ),
    # The embedding's gradient as the sparse tensor torch itself makes for it: the check
    # crashed with a traceback, the grader could not read backward's answer at all (0 of 30).
    "a sparse dC": (
        {"exercise3": mutated("exercise3", INDEX_ADD, SPARSE_DC)},
        "exercise3.dC",
        ("ok",),
    ),
    "a meta tensor for dh": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", META_DH)},
        "exercise1.dh",
        ("WRONG", "cannot be read", "meta or nested"),
    ),
    "a tensor subclass whose grad_fn raises": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ODD_GRAD_FN_DH)},
        "exercise1.dh",
        ("ok",),
    ),
    "a tensor subclass whose torch functions raise SystemExit": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", EXITING_TENSOR_DH)},
        "exercise1.dh",
        ("ERROR", "could not read the result"),
    ),
    "a list whose iteration raises SystemExit": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", EXITING_LIST_DH)},
        "exercise1.dh",
        ("ERROR", "could not read the result"),
    ),
    "a list whose iteration never ends": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ENDLESS_LIST_DH)},
        "exercise1.dh",
        ("TIMEOUT",),
    ),
    "an answer whose __class__ raises": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ODD_CLASS_DH)},
        "exercise1.dh",
        ("ERROR", "could not read the result", "no class here"),
    ),
    "an exception whose __cause__ raises": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ODD_CAUSE_DH)},
        "exercise1.dh",
        ("ERROR", "Odd: odd"),
    ),
    "an exception whose __cause__ raises SystemExit": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ODD_CAUSE_EXIT_DH)},
        "exercise1.dh",
        ("ERROR", "Odd: odd"),
    ),
    "an exception whose __notes__ raises KeyboardInterrupt": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ODD_NOTES_INTERRUPT_DH)},
        "exercise1.dh",
        # Python 3.10's traceback never reads __notes__ (3.11 added them): the message shows.
        ("ERROR", "Odd (its message could not be read)" if PY311 else "Odd: odd"),
    ),
    "a NotImplementedError whose __str__ raises": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", ODD_TODO_DH)},
        "exercise1.dh",
        ("todo",),
    ),
    "a NotImplementedError of two million characters": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", LONG_TODO_DH)},
        "exercise1.dh",
        ("todo",),
    ),
    "an error raised from another": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", RAISED_FROM_DH)},
        "exercise1.dh",
        ("ERROR", "KeyError: 'no table'", "ValueError: no dh for this batch"),
    ),
    "an error raised while handling another": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", RAISED_WHILE_HANDLING_DH)},
        "exercise1.dh",
        ("ERROR", "ZeroDivisionError: division by zero", "undefined_name"),
    ),
    "a chain of forty long errors": (
        {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", DEEP_CHAIN_DH)},
        "exercise1.dh",
        ("ERROR", "ValueError: level 40 yyy"),
    ),
    "a helper whose signature cannot be read": (
        {"exercise2": mutated("exercise2", AFTER_IMPORTS, AFTER_IMPORTS + ODD_SIGNATURE_HELPER)},
        "exercise2.dlogits",
        ("ok",),
    ),
    # A global under a key that is not a name (`globals()[1] = ...`): listing the file's
    # functions asked it `startswith`, and the load ended the sandbox's process (every item of
    # the file failed to import) and check.py in a traceback.
    "a global whose key is not a name": (
        {
            "exercise2": mutated(
                "exercise2", AFTER_IMPORTS, AFTER_IMPORTS + "\n\nglobals()[1] = print\n"
            )
        },
        "exercise2.dlogits",
        ("FORBIDDEN", "globals()"),  # the scan's verdict, not the failed import's
    ),
    "a helper whose signature reading raises SystemExit": (
        {
            "exercise2": mutated(
                "exercise2", AFTER_IMPORTS, AFTER_IMPORTS + EXITING_SIGNATURE_HELPER
            )
        },
        "exercise2.dlogits",
        ("ok",),
    ),
    # A dict key whose str() raises: the sandbox says it could not read the result; the
    # check ended in a traceback.
    "a dict key that cannot be named": (
        {
            "exercise3": mutated(
                "exercise3",
                '    return {\n        "dC": dC,\n',
                "    class Key:\n"
                "        def __str__(self):\n"
                "            raise ValueError('no name')\n\n"
                '    return {\n        Key(): dC,\n        "dC": dC,\n',
            )
        },
        "exercise3.dC",
        ("ERROR", "could not read the result"),
    ),
    # A sum over the other dimension, without keepdim: no size-1 dimension shows which one, the
    # call's dlogits (32, 27) does. Both said only the two shapes.
    "db2 summed over the wrong dimension": (
        {"exercise1": mutated("exercise1", DB2, DB2.replace("sum(0)", "sum(1)"))},
        "exercise1.db2",
        ("WRONG", "returned (32,), expected (27,)", DIM_1_FOR_0),
    ),
    "exercise 3's db2 summed over the wrong dimension": (
        {"exercise3": mutated("exercise3", DB2, DB2.replace("sum(0)", "sum(1)"))},
        "exercise3.db2",
        ("WRONG", "returned (32,), expected (27,)", DIM_1_FOR_0),
    ),
    # The arguments read are the case's own, not the copy the student's code turned round: the
    # grader's process never hands its own back (the check once read the copy, (27, 32)).
    "db2 summed over the wrong dimension of dlogits transposed in place": (
        {"exercise1": mutated("exercise1", DB2, "    dlogits.t_()\n" + DB2)},
        "exercise1.db2",
        ("WRONG", "returned (32,), expected (27,)", DIM_1_FOR_0),
    ),
    # The lecture's `grads` list in another order: the check names whose gradient it is.
    "exercise 3's list out of order": (
        {
            "exercise3": mutated(
                "exercise3",
                '    return {\n        "dC": dC,\n',
                "    return [dW1, dC, db1, dW2, db2, dbngain, dbnbias]\n    return {\n"
                '        "dC": dC,\n',
            )
        },
        "exercise3.dC",
        ("WRONG", "this is dW1, right, in dC's place"),
    ),
}


def test_the_check_cuts_a_long_traceback_as_the_grader_does(tmp_path: Path) -> None:
    """A long exception keeps the heading, the student's line and the type in the check as in
    the grader (tests/test_grading.py): its last 4,000 characters were kept, the tail of the
    message alone."""
    from grader import local_check

    path = tmp_path / "exercise1.py"
    code = compile(
        "def f():\n    raise ValueError('start ' + 'x' * 9000 + ' the end')\n", str(path), "exec"
    )
    space: dict = {}
    exec(code, space)  # noqa: S102 - the test's own line, compiled under a student's file name
    try:
        space["f"]()
    except ValueError as e:
        trace = local_check.student_traceback(e, path)
    assert trace.startswith("Traceback (most recent call last):\n"), trace[:200]
    assert f'File "{path}", line 2, in f' in trace and "ValueError: start xxx" in trace, trace
    assert trace.rstrip().endswith("xxx the end") and len(trace) <= 4000


def test_a_deep_traceback_keeps_whole_frames_under_its_heading(tmp_path: Path) -> None:
    """Two functions calling each other to the recursion limit stack a thousand frames that
    Python does not fold: their last 4,000 characters began mid-frame ('e 3, in pong'), under
    no heading. The latest frames are kept whole, under the heading."""
    from grader import local_check

    path = tmp_path / "exercise1.py"
    source = "def ping(k):\n    return pong(k + 1)\ndef pong(k):\n    return ping(k + 1)\n"
    space: dict = {}
    exec(compile(source, str(path), "exec"), space)  # noqa: S102 - the test's own code
    try:
        space["ping"](0)
    except RecursionError as e:
        trace = local_check.student_traceback(e, path)
    lines = trace.splitlines()
    assert lines[0] == "Traceback (most recent call last):", lines[:2]
    assert lines[1].startswith(f'  File "{path}", line '), lines[:2]
    assert lines[-1].startswith("RecursionError: maximum recursion depth exceeded")
    assert 3000 < len(trace) <= 4000


def test_a_chained_error_shows_its_cause_first_within_the_bound(tmp_path: Path) -> None:
    """`raise ValueError(...) from e` showed the ValueError alone: the cause now comes first,
    under Python's sentence, and a chain of forty long errors keeps the bound, the latest
    whole and its direct cause beside it, the oldest cut with a mark."""
    from grader import local_check

    path = tmp_path / "exercise1.py"
    source = (
        "def f():\n    try:\n        {}['no table']\n    except KeyError as e:\n"
        "        raise ValueError('no dh') from e\n"
        "def g(k):\n    if k == 0:\n        raise KeyError('first ' + 'x' * 900)\n"
        "    try:\n        g(k - 1)\n    except Exception:\n"
        "        raise ValueError(f'level {k} ' + 'y' * 900)\n"
    )
    space: dict = {}
    exec(compile(source, str(path), "exec"), space)  # noqa: S102 - the test's own code
    traces = []
    for call in (lambda: space["f"](), lambda: space["g"](40)):
        try:
            call()
        except ValueError as e:
            traces.append(local_check.student_traceback(e, path))
    short, deep = traces
    cause = "\nThe above exception was the direct cause of the following exception:\n\n"
    assert short.startswith("Traceback (most recent call last):\n"), short
    assert short.index("KeyError: 'no table'") < short.index(cause) < short.index("ValueError")
    assert short.rstrip().endswith("ValueError: no dh"), short
    handling = "\nDuring handling of the above exception, another exception occurred:\n\n"
    assert len(deep) <= 4000 and deep.startswith("Traceback (most recent call last):\n")
    assert "earlier exceptions of the chain cut" in deep and "first xxx" not in deep
    assert deep.rstrip().endswith("y" * 200) and "ValueError: level 40 yyy" in deep
    assert deep.index("ValueError: level 39 yyy") < deep.rindex(handling), deep


def test_a_chain_of_ten_thousand_reads_only_the_exceptions_it_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A student's loop raising each error from the one before made a chain of 10,000: the
    traceback read the frames and words of 50 of them, of which some 15 fit, and each one's
    words read every exception behind it (their `str`, half a million times: seconds of the
    student's time). It reads each exception it shows once, and no other."""
    from grader import local_check
    from grader.sandbox.inside import tracebacks

    path = tmp_path / "exercise1.py"
    source = (
        "class Step(Exception):\n"
        "    def __str__(self):\n        WORDS_READ.append(1)\n        return 'step'\n"
        "def chain(n):\n    e = None\n    for _ in range(n):\n"
        "        try:\n            raise Step() from e\n"
        "        except Step as latest:\n            e = latest\n"
        "    raise e\n"
    )
    words_read: list[int] = []
    space: dict = {"WORDS_READ": words_read}
    exec(compile(source, str(path), "exec"), space)  # noqa: S102 - the test's own code
    frames_read = []
    frames = tracebacks.traceback_of  # read once for each exception whose frames are read
    monkeypatch.setattr(tracebacks, "traceback_of", lambda x: frames_read.append(x) or frames(x))
    try:
        space["chain"](10_000)
    except Exception as e:  # noqa: BLE001 - the student's Step
        words_read.clear()
        trace = local_check.student_traceback(e, path)
    cause = "\nThe above exception was the direct cause of the following exception:\n\n"
    shown = trace.count(cause) + 1
    assert len(trace) <= 4000 and "earlier exceptions of the chain cut" in trace, trace
    assert trace.rstrip().endswith("Step: step") and shown > 5, trace
    assert len(frames_read) == shown and len(words_read) == shown, (shown, len(words_read))


def test_the_grader_s_report_of_a_long_chain_keeps_the_bound(public_grader, tmp_path):
    """The report (JSON and HTML) showed a chain's latest error alone. The sandbox's worker
    cuts a chain of forty long errors as the check does: the latest whole, its cause before
    it, the oldest dropped with a mark, 4,000 characters at most."""
    from grader.report.html import render_report

    sources = {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", DEEP_CHAIN_DH)}
    result = graded(public_grader, student_folder(tmp_path / "mine", sources))
    message = next(i for i in result["items"] if i["id"] == "exercise1.dh")["message"]
    trace = message[message.index("Traceback (most recent call last):") :]
    assert len(trace) <= 4000 and "earlier exceptions of the chain cut" in trace, trace
    cause = "\nThe above exception was the direct cause of the following exception:\n\n"
    assert trace.index("ValueError: level 39 yyy") < trace.rindex(cause), trace
    assert trace.rstrip().endswith("y" * 900) and "first xxx" not in trace, trace
    for for_student in (False, True):  # the TA's report and the student's show the chain
        page = render_report(result, for_student=for_student)
        assert "ValueError: level 39 yyy" in page and cause.strip() in page


def test_a_caught_refusal_is_said_once_within_the_bound(tmp_path: Path) -> None:
    """A student catching the autograd ban's refusal and raising another error: the refusal
    was added after the 4,000 characters, past the bound, and again where the chain already
    showed it (`raise ... from err`). It is said once, within the bound, at the end only
    where the chain does not show it (`from None`). The worker's copy is the check's."""
    from grader import local_check

    path = tmp_path / "exercise1.py"
    source = (
        "from grader.check_process import AutogradForbidden\n"
        "def ping(k, shown):\n"
        "    if k:\n        return pong(k - 1, shown)\n"
        "    try:\n        raise AutogradForbidden('backward: ' + MESSAGE)\n"
        "    except RuntimeError as err:\n"
        "        raise ValueError('no gradient here') from (err if shown else None)\n"
        "def pong(k, shown):\n    return ping(k - 1, shown)\n"
    )
    space: dict = {"MESSAGE": AUTOGRAD_OFF}
    exec(compile(source, str(path), "exec"), space)  # noqa: S102 - the test's own code
    traces = {}
    for shown in (True, False):
        try:
            space["ping"](300, shown)
        except ValueError as e:
            traces[shown] = local_check.banned_traceback(e, path)
    for shown, trace in traces.items():
        assert len(trace) <= 4000 and trace.count(AUTOGRAD_OFF) == 1, (shown, trace[-600:])
    assert traces[False].endswith(f"(while handling: backward: {AUTOGRAD_OFF})"), traces[False]
    assert "(while handling" not in traces[True], traces[True][-600:]


def test_the_grader_says_a_caught_refusal_once_within_the_bound(public_grader, tmp_path):
    """The sandbox's worker added the refusal a student's code caught after the traceback's
    4,000 characters, and again where the chain showed it: once now, within the bound
    (grad mode switched on, which the scan lets through, meets the ban at run time)."""
    dh = (
        "    def ping(k):\n"
        "        if k:\n            return pong(k - 1)\n"
        "        try:\n            torch.set_grad_enabled(True)\n"
        "        except RuntimeError as err:\n"
        "            raise ValueError('no gradient here') from err\n\n"
        "    def pong(k):\n        return ping(k - 1)\n\n"
        "    ping(300)\n"
    )
    sources = {"exercise1": mutated("exercise1", "    dh = dlogits @ W2.T\n", dh)}
    result = graded(public_grader, student_folder(tmp_path / "mine", sources))
    message = next(i for i in result["items"] if i["id"] == "exercise1.dh")["message"]
    trace = message[message.index("Traceback (most recent call last):") :]
    assert len(trace) <= 4000 and trace.count("autograd is switched off") == 1, trace[-600:]
    assert trace.rstrip().endswith("ValueError: no gradient here"), trace[-600:]


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    zipped = write_student_bundle(tmp_path_factory.mktemp("dist"))
    out = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(out)
    return out / "backprop-ninja"


@pytest.fixture(scope="module")
def public_grader():
    from grader.pipeline import Grader

    g = Grader(public_only=True)
    yield g
    g.close()


def student_folder(root: Path, sources: dict[str, str]) -> Path:
    """A student's folder: the solutions, with the scenario's files in their place."""
    root.mkdir()
    for name in FILES:
        text = sources.get(name, solution(name))
        (root / f"{name}.py").write_text(text)
    return root


def bundle_check(bundle_dir: Path, folder: Path, site: Path | None = None, status: int = 0) -> str:
    """check.py's output on `folder`, which exits with `status`; `site`: a folder of modules
    the student's own Python has (on PYTHONPATH), which the grader does not."""
    env = {**os.environ, "PYTHONPATH": str(site)} if site is not None else None
    done = subprocess.run(
        [sys.executable, "check.py", str(folder)],
        cwd=bundle_dir,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert done.returncode == status, (done.stdout, done.stderr)
    assert not done.stderr, done.stderr
    return done.stdout


def both_checks_say(bundle_dir: Path, path: Path, said: str) -> None:
    """`said` is a line of what `grader check` prints of `path` and of what check.py prints."""
    from click.testing import CliRunner

    from grader.cli import main

    done = CliRunner().invoke(main, ["check", str(path)])
    assert said in done.output.splitlines(), done.output
    checked = bundle_check(bundle_dir, path)
    assert said in checked.splitlines(), checked


def graded(public_grader, folder: Path) -> dict:
    files = {n: (folder / f"{n}.py").read_bytes() for n in FILES}
    return public_grader.grade(Submission(folder.name, files)).to_json()


def rows_of(table: str, item_id: str) -> str:
    """An item's row and the lines under it, in its exercise's block of the table; a reason
    said `as above` (a file that could not be used) read from the row that says it."""
    exercise, name = item_id.split(".")
    block = table.split(f"\n{exercise} ", 1)[1]
    lines = block.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.split()[:1] == [name])
    end = next(
        (i for i in range(start + 1, len(lines)) if not lines[i].startswith("      ")),
        len(lines),
    )
    said = [ln for ln in lines[:start] if ln.startswith("      -> ") and ln != AS_ABOVE]
    return "\n".join(said[-1] if ln == AS_ABOVE and said else ln for ln in lines[start:end])


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_the_bundle_check_says_what_the_grader_says(
    scenario: str, bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    sources, item_id, words = SCENARIOS[scenario]
    folder = student_folder(tmp_path / "mine", sources)
    local = bundle_check(bundle_dir, folder)
    result = graded(public_grader, folder)
    assert local.rstrip("\n") == render(result, where=str(folder)), "the tables differ"
    row = rows_of(local, item_id)
    for word in words:
        assert word in row, (word, row)
    # The report and Gradescope carry the same words.
    item = next(i for i in result["items"] if i["id"] == item_id)
    gradescope = next(
        t
        for t in to_gradescope(result, Rubric({}, "after_published"))["tests"]
        if t.get("extra_data", {}).get("id") == item_id
    )
    for word in words[1:]:
        if word in ("1/2",):
            continue
        in_result = word in item["message"] or word in item["hint"]
        assert in_result, (word, item["message"], item["hint"])
        assert word in gradescope["output"], (word, gradescope["output"])


def test_the_check_refuses_every_audit_event_the_grader_refuses_by_name() -> None:
    """check.py refuses, by their audit events, all the calls the grader's audit hook refuses
    by name (inside/noautograd.py's _DENIED), in its words: sockets and file locks, refused
    there and not added here, passed in check.py (thirty-eighth session)."""
    tree = ast.parse((isolation.INSIDE / "noautograd.py").read_text())
    denied = next(
        ast.literal_eval(node.value.args[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "_DENIED"
    )
    assert denied and denied <= check_process._CHANGES, sorted(denied - check_process._CHANGES)


def test_the_check_refuses_the_engine_on_its_own_type_and_puts_it_back() -> None:
    """While student code runs, `run_backward` refuses on torch's engine type itself, however
    the type is reached and though this process called it before (Python had cached the
    lookup, and specialised the calls in torch.autograd); elsewhere, and after, it is torch's."""
    import threading

    x = torch.ones(3, requires_grad=True)

    def through_the_type() -> object:
        engine = torch._C._ImperativeEngine()
        run = type(engine).__mro__[-2].run_backward
        return run(engine, ((x * 2).sum(),), (torch.ones(()),), False, False, (x,), False, False)

    for _ in range(50):
        assert torch.autograd.grad((x * 2).sum(), x)[0].tolist() == [2.0] * 3
        through_the_type()
    if check_process._ENGINE_DICT is None:
        pytest.skip("this Python gives no way to the engine type's dict")
    with check_process._engine_refusing():
        assert through_the_type()[0].tolist() == [2.0] * 3  # not student code: torch's own
        check_process._REFUSING.add(threading.get_ident())
        try:
            for call in (through_the_type, lambda: torch.autograd.grad((x * 2).sum(), x)):
                with pytest.raises(check_process.AutogradForbidden, match="run_backward"):
                    call()
        finally:
            check_process._REFUSING.discard(threading.get_ident())
    assert vars(check_process._ENGINE_TYPE)["run_backward"] is check_process._ENGINE_RUN
    assert through_the_type()[0].tolist() == [2.0] * 3


def test_the_solutions_pass_every_item_identically(bundle_dir: Path, public_grader, tmp_path):
    folder = student_folder(tmp_path / "mine", {})
    local = bundle_check(bundle_dir, folder)
    assert local.rstrip("\n") == render(graded(public_grader, folder), where=str(folder))
    assert "36 of 36 items passed on the public cases." in local


@pytest.mark.parametrize(
    ("file", "old", "new", "says"),
    [
        # `eps=1e-5` keeps its default in both; the grader forbade it while the bundle's
        # training demo ran it.
        (
            "exercise2",
            "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n):",
            "def dhprebn(dhpreact, bngain, bnvar_inv, bnraw, n, eps=1e-5):",
            "36 of 36 items passed on the public cases.",
        ),
        # A later gradient declared with a default: the check's chain still counted it as
        # needed and stopped at dprobs ("not reached"), while the grader's chain went on.
        (
            "exercise1",
            "def dprobs(probs, dlogprobs):",
            "def dprobs(probs, dlogprobs, dcounts_sum_inv=None):",
            "exercise 1 matches autograd all the way down",
        ),
    ],
    ids=["eps", "later gradient"],
)
def test_a_defaulted_parameter_keeps_its_default_in_the_bundle_check_as_in_the_grader(
    bundle_dir: Path, public_grader, tmp_path, file, old, new, says
):
    folder = student_folder(tmp_path / "mine", {file: mutated(file, old, new)})
    local = bundle_check(bundle_dir, folder)
    assert local.rstrip("\n") == render(graded(public_grader, folder), where=str(folder))
    assert says in local


def test_a_wrong_exercise3_gradient_costs_its_item_not_the_training_run(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """Bessel forgotten in the fused batchnorm: dW1 and dC are wrong, and charged there only."""
    src = mutated("exercise3", "n / (n - 1) * bnraw", "bnraw")
    folder = student_folder(tmp_path / "mine", {"exercise3": src})
    result = graded(public_grader, folder)
    status = {i["id"]: i["status"] for i in result["items"]}
    assert status["exercise3.dW1"] == status["exercise3.dC"] == "failed"
    assert status["exercise3.training"] == "passed"
    training = next(i for i in result["items"] if i["id"] == "exercise3.training")
    assert "dC, dW1 came from autograd" in training["message"]
    assert "training                ok" in bundle_check(bundle_dir, folder)


def test_a_gradient_that_times_out_in_the_chain_is_not_said_to_depart_from_autograd(
    tmp_path: Path,
) -> None:
    """A dlogprobs that never returns gave the chain nothing to compare, and the check said
    exercise 1 "first departs from autograd at dlogprobs", as if its value were wrong."""
    import dataclasses

    from grader.pipeline import Grader

    head = "def dlogprobs(logprobs, Yb, n):"
    looping = mutated("exercise1", head, head + "\n    while True:\n        pass")
    folder = student_folder(tmp_path / "slow", {"exercise1": looping})
    limits = dataclasses.replace(sandbox_client.Limits(), call_seconds=1.0)
    grader = Grader(limits=limits, public_only=True)
    try:
        result = graded(grader, folder)
    finally:
        grader.close()
    assert result["chain"]["first_departure"] == "dlogprobs"
    text = render(result)
    assert "exercise 1 stops at dlogprobs, which timed out; not reached: dprobs" in text, text
    assert "departs" not in text, text


def test_a_chain_broken_by_a_dropped_keepdim_names_the_shape_not_the_right_function(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """`dlogit_maxes` without keepdim=True is (32,): accepted alone, with a warning. Fed to the
    student's own (right) `dlogits`, it does not broadcast, and the chain's sentence blamed
    `dlogits` alone; it names the shape that broke it, in check.py, the grader and Gradescope."""
    keep = "dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)"
    src = mutated("exercise1", keep, "dlogit_maxes = (-dnorm_logits).sum(1)")
    folder = student_folder(tmp_path / "mine", {"exercise1": src})
    result = graded(public_grader, folder)
    status = {i["id"]: i["status"] for i in result["items"]}
    assert status["exercise1.dlogit_maxes"] == status["exercise1.dlogits"] == "passed"
    assert result["chain"]["first_departure"] == "dlogits"
    said = "fed your `dlogit_maxes` of shape (32,) where autograd's is (32, 1)"
    local = bundle_check(bundle_dir, folder)
    assert local.rstrip("\n") == render(result, where=str(folder))
    assert f"stops at dlogits, which raised an error when {said}" in local, local
    summary = to_gradescope(result, Rubric({}, "after_published"))["output"]
    assert f"stop at dlogits, which raised an error when {said}" in summary, summary
    right = graded(public_grader, student_folder(tmp_path / "right", {}))
    assert "departure_cause" not in right["chain"]


def test_a_chain_broken_by_a_float64_gradient_names_the_dtype_not_the_right_function(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """`dlogprobs` returned in float64 passes alone, with a warning, and so do the gradients
    computed from it down to `dlogits`; the student's right `dh` then multiplies it by float32
    `W2`, which raises, and the chain's sentence blamed `dh` alone."""
    src = mutated("exercise1", "    return dlogprobs\n", "    return dlogprobs.double()\n")
    folder = student_folder(tmp_path / "mine", {"exercise1": src})
    result = graded(public_grader, folder)
    assert all(i["status"] == "passed" for i in result["items"])
    assert result["chain"]["first_departure"] == "dh"
    said = "fed your `dlogits` in float64 where the inputs are float32: a dtype accepted"
    local = bundle_check(bundle_dir, folder)
    assert local.rstrip("\n") == render(result, where=str(folder))
    assert f"stops at dh, which raised an error when {said}" in local, local


def test_a_chain_step_that_raises_is_said_to_stop_the_chain_not_to_depart(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """A `dprobs` that raises on the student's own `dlogprobs` (not on autograd's, which it
    was judged on alone) gave the chain no value: the check, the report and Gradescope's page
    said exercise 1 "first departs from autograd at dprobs", as if its value were wrong."""
    from grader.report.html import render_report

    head = "def dprobs(probs, dlogprobs):\n"
    raising = head + "    if dlogprobs.abs().sum() > 0.5:\n        raise ValueError('no')\n"
    folder = student_folder(tmp_path / "mine", {"exercise1": mutated("exercise1", head, raising)})
    result = graded(public_grader, folder)
    steps = {s["grad"]: s["status"] for s in result["chain"]["steps"]}
    assert steps["dprobs"] == "error" and result["chain"]["first_departure"] == "dprobs"
    local = bundle_check(bundle_dir, folder)
    assert local.rstrip("\n") == render(result, where=str(folder))
    said = "exercise 1 stops at dprobs, which raised an error; not reached: dcounts_sum_inv,"
    assert said in local and "depart" not in local, local
    page = to_gradescope(result, Rubric({}, "after_published"))["output"]
    assert "gradients stop at dprobs, which raised an error;" in page and "depart" not in page
    report = render_report(result)
    assert "It stops at <code>dprobs</code>, which raised an error: fix that one" in report
    assert "departs" not in report


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("exercise1", "    return dbnvar\n", "    import os\n\n    os._exit(0)\n"),
        ("exercise2", "import torch  #", "import os\n\nos._exit(0)\nimport torch  #"),
        (
            "exercise1",
            "    return dbnvar\n",
            "    import os\n\n    try:\n        os._exit(0)\n    except BaseException:\n"
            "        pass\n    return dbnvar\n",
        ),
        (
            "exercise2",
            "import torch  #",
            "import posix\n\ntry:\n    posix._exit(0)\nexcept BaseException:\n    pass\n"
            "import torch  #",
        ),
    ],
    ids=["call", "import", "call, caught", "posix._exit at import, caught"],
)
def test_os_exit_in_student_code_is_an_error_in_the_bundle_check_as_in_the_grader(
    bundle_dir: Path, public_grader, tmp_path: Path, file: str, old: str, new: str
) -> None:
    """os._exit in a function or at import ends the grader's process for the student's code,
    which the grader reports; in check.py, which runs that code in-process, it ended check.py
    itself: no table, no word, exit status 0; one caught by `except BaseException` ends the
    grader's process all the same, and posix._exit is os._exit."""
    folder = student_folder(tmp_path / "mine", {file: mutated(file, old, new)})
    result = graded(public_grader, folder)
    local = bundle_check(bundle_dir, folder)
    ended = {"exercise1.dbnvar"} if file == "exercise1" else {f"exercise2.{g}" for g in EXERCISE2}
    assert {i["id"] for i in result["items"] if i["status"] == "error"} == ended
    assert all(PROCESS_ENDED in i["message"] for i in result["items"] if i["id"] in ended)
    assert local.rstrip("\n") == render(result, where=str(folder)), local
    assert PROCESS_ENDED == sandbox_client._CRASH


def test_a_run_left_with_only_db1_judges_nothing_and_fails(public_grader, tmp_path):
    """db1's true value is zero: zeros pass its item, and a run driven by nothing else of the
    student's (every other gradient wrong, so from autograd) must not be 17 free points."""
    src = (
        "import torch\n\n\n"
        "def backward(C, W1, b1, W2, b2, bngain, bnbias):\n"
        "    grads = {'d' + k: torch.ones_like(v) for k, v in dict(\n"
        "        C=C, W1=W1, W2=W2, b2=b2, bngain=bngain, bnbias=bnbias).items()}\n"
        "    return dict(grads, db1=torch.zeros_like(b1))\n"
    )
    folder = student_folder(tmp_path / "mine", {"exercise3": src})
    items = {i["id"]: i for i in graded(public_grader, folder)["items"]}
    assert items["exercise3.db1"]["status"] == "passed"
    assert items["exercise3.dW1"]["status"] == "failed"
    assert items["exercise3.training"]["status"] == "failed"
    assert "only db1" in items["exercise3.training"]["message"]


def test_a_wrong_exercise3_gradient_that_is_not_charged_fails_the_run(public_grader, tmp_path):
    """The excuse covers only gradients whose items failed: a run cannot pass on a stub."""
    stub = (STUBS / "exercise3.py").read_text()
    folder = student_folder(tmp_path / "mine", {"exercise3": stub})
    status = {i["id"]: i["status"] for i in graded(public_grader, folder)["items"]}
    assert status["exercise3.training"] == "not_implemented"


def test_check_main_in_jupyter_reads_no_kernel_arguments(bundle_dir: Path, tmp_path: Path):
    """A kernel's argv holds `-f kernel.json`: check.main() must check its own folder. (A copy:
    the module's bundle, written into, changed what later tests of it read.)"""
    folder = tmp_path / "backprop-ninja"
    shutil.copytree(bundle_dir, folder)
    for name in FILES:
        (folder / f"{name}.py").write_text(solution(name))
    code = (
        "import sys; sys.argv = ['ipykernel_launcher.py', '-f', '/nonexistent/kernel.json']\n"
        "import check; check.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert f"Public check of {folder}" in done.stdout
    assert "36 of 36 items passed" in done.stdout


def test_the_bundle_check_beside_the_files_cannot_import_one_from_another(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """The usual layout: the student's files in the unpacked bundle, `python check.py` there.
    The grader's process has no exercise2.py to import; nor does the check's."""
    folder = tmp_path / "backprop-ninja"
    shutil.copytree(bundle_dir, folder)
    for name in FILES:
        (folder / f"{name}.py").write_text(solution(name))
    exercise3 = mutated("exercise3", AFTER_IMPORTS, AFTER_IMPORTS + IMPORTS_EXERCISE2)
    (folder / "exercise3.py").write_text(exercise3)
    done = subprocess.run(
        [sys.executable, "check.py"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.stdout.rstrip("\n") == render(graded(public_grader, folder), where=str(folder))
    assert "28 of 36 items passed" in done.stdout
    assert "imports 'exercise2', which the grader does not have" in done.stdout


def test_check_of_one_exercise_file_checks_its_folder(bundle_dir: Path, tmp_path: Path) -> None:
    folder = student_folder(tmp_path / "mine", {})
    out = bundle_check(bundle_dir, folder / "exercise1.py")
    assert f"Public check of {folder}" in out and "36 of 36" in out


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("missing.ipynb", "there is no notebook {path}"),
        ("missing", "there is no file or folder {path}"),
        ("notes.txt", "{path} is not a folder, an exercise file, a notebook or a zip"),
    ],
    ids=["notebook", "folder", "text file"],
)
def test_a_path_the_check_cannot_check_is_said_what_it_is_and_what_to_give(
    bundle_dir: Path, tmp_path: Path, given: str, said: str
) -> None:
    """`python check.py missing.ipynb` said "missing.ipynb is not a folder" of a notebook that
    is not there, and given notes.txt it checked the folder notes.txt is in; `grader check`
    refused that one (check.py and the grader check now say the same of each)."""
    from click.testing import CliRunner

    from grader.cli import main

    (tmp_path / "notes.txt").write_text("my notes\n")
    path = tmp_path / given
    words = said.format(path=path)
    give = "give the folder that holds your exercise files"
    out = bundle_check(bundle_dir, path, status=1)  # exit 0 before, where grader check's is 1
    assert out.startswith(words) and give in out and "Public check" not in out, out
    assert ("(a name with spaces needs quotes)" in out) == given.startswith("missing"), out
    done = CliRunner().invoke(main, ["check", str(path)])
    assert done.exit_code == 1 and f"Error: {words}" in done.output and give in done.output


def test_a_name_with_spaces_given_unquoted_is_refused_by_both_checks(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """`python check.py Copy of hw.ipynb`: check.py read `Copy` alone (there is no file Copy:
    the rest of the name dropped unsaid), where `grader check` refused the extra words. Both
    now say, in the same words, that several were given and a name with spaces needs quotes,
    and check nothing."""
    from click.testing import CliRunner

    from grader.cli import main

    (tmp_path / "Copy of hw.ipynb").write_bytes(STUBS.joinpath("backprop_ninja.ipynb").read_bytes())
    (tmp_path / "Copy").mkdir()  # the first word alone is a folder: not checked either
    words = ["Copy", "of", "hw.ipynb"]
    done = subprocess.run(
        [sys.executable, str(bundle_dir / "check.py"), *words],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    said = (
        "one PATH is read, and 3 were given (Copy, of, hw.ipynb); a name with spaces needs "
        'quotes ("Copy of hw.ipynb"): nothing was checked'
    )
    assert done.returncode == 2 and done.stdout == said + "\n", (done.stdout, done.stderr)
    assert not done.stderr, done.stderr
    checked = CliRunner().invoke(main, ["check", *words])
    assert checked.exit_code == 2 and said in " ".join(checked.output.split()), checked.output


def test_a_path_the_check_may_not_read_is_said_so_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Under a folder it may not enter, check.py and `grader check` ended in a traceback
    (PermissionError, from `Path.is_file`); a folder it may not list was checked as an empty
    upload, each item "exercise1.py was not submitted". (Patched: the tests may run as root,
    whom no permission stops.)"""
    import click

    from grader.check import _folder_of
    from grader.local_check import checked_folder

    folder = student_folder(tmp_path / "mine", {})

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    for name, where in (("scandir", folder), ("stat", folder / "exercise1.py")):
        with monkeypatch.context() as patched:
            patched.setattr(os if name == "scandir" else Path, name, refused)
            assert checked_folder(where, tmp_path, "exercise files") is None
            with pytest.raises(click.ClickException) as refusal:
                _folder_of(where)
        said = f"{where} could not be read (Permission denied): make it readable, or give the"
        assert capsys.readouterr().out.startswith(said)
        assert refusal.value.message.startswith(said)


def test_grader_check_of_one_exercise_file_checks_its_folder(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main
    from grader.sandbox import launch

    folder = student_folder(tmp_path / "mine", {})
    done = CliRunner().invoke(main, ["check", str(folder / "exercise1.py")])
    assert done.exit_code == 0, done.output
    assert f"Public check of {folder}" in done.output and "36 of 36" in done.output
    missing = CliRunner().invoke(main, ["check", str(folder / "nowhere")])
    left = launch.hand_over()  # the sandbox started for it, had it outlived the command
    launch.reap(left, seconds=0)
    assert missing.exit_code == 1
    assert "there is no file or folder" in missing.output
    assert "give the folder that holds your exercise files" in missing.output
    assert "Traceback" not in missing.output
    assert left == [], "a sandbox started for the refused check outlived it"


def test_grader_check_says_which_file_it_took_when_that_was_not_plain(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    folder = student_folder(tmp_path / "mine", {})
    (folder / "exercise1.py").rename(folder / "exercise1 (1).py")  # as a browser saves it
    (folder / "old").mkdir()
    (folder / "old" / "exercise2.py").write_text("def dlogits(): pass\n")
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert done.exit_code == 0, done.output
    assert "Note: graded exercise1 (1).py as exercise1.py" in done.output
    assert "Note: also found old/exercise2.py: not graded (graded exercise2.py)" in done.output
    assert "36 of 36" in done.output


def test_the_grader_alone_names_slips_whose_detection_needs_a_near_miss_formula(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """Bessel inside the fused formula: both say WRONG with the same numbers; only the grader,
    which holds the near-miss formula (mistakes.py, never shipped), adds a hint line."""
    src = mutated("exercise2", "n / (n - 1) * bnraw", "bnraw")
    folder = student_folder(tmp_path / "mine", {"exercise2": src})
    local = bundle_check(bundle_dir, folder).rstrip("\n").splitlines()
    grader = render(graded(public_grader, folder), where=str(folder)).splitlines()
    extra = [ln for ln in grader if ln not in local]
    assert extra and all(ln.startswith("      hint: Bessel") for ln in extra), extra
    assert [ln for ln in grader if ln not in extra] == local
    assert "dhprebn                 WRONG        0/2" in "\n".join(local)


def test_autograd_is_forbidden_in_the_bundle_check_too(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """The grader's source scan does not ship; the check's own tripwire gives the same verdict."""
    src = mutated(
        "exercise1",
        "    dlogprobs = torch.zeros_like(logprobs)\n"
        "    dlogprobs[range(n), Yb] = -1.0 / n\n"
        "    return dlogprobs\n",
        "    with torch.enable_grad():\n"
        "        lp = logprobs.clone().requires_grad_()\n"
        "        (-lp[range(n), Yb].mean()).backward()\n"
        "    return lp.grad\n",
    )
    folder = student_folder(tmp_path / "mine", {"exercise1": src})
    local = rows_of(bundle_check(bundle_dir, folder), "exercise1.dlogprobs")
    grader = rows_of(render(graded(public_grader, folder), where=""), "exercise1.dlogprobs")
    assert local.split()[:3] == grader.split()[:3] == ["dlogprobs", "FORBIDDEN", "0/2"]
    assert "autograd" in local and "scores 0" in local


def test_grader_check_of_a_folder_with_copies_of_the_notebook_checks_the_most_complete(
    tmp_path: Path,
) -> None:
    """`grader grade` reads a folder of notebooks as a class, one each; a student's own check
    reads their copies (Jupyter's "Make a Copy") as one upload, as Gradescope does."""
    from click.testing import CliRunner
    from notebooks import lecture_notebook

    from grader.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "backprop_ninja.ipynb").write_bytes((STUBS / "backprop_ninja.ipynb").read_bytes())
    solved = lecture_notebook({f: solution(f) for f in FILES}, "jupyter")
    (folder / "backprop_ninja-Copy1.ipynb").write_bytes(solved)
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert done.exit_code == 0, done.output
    assert "Note: found 2 notebooks; graded backprop_ninja-Copy1.ipynb" in done.output
    assert "36 of 36" in done.output


@pytest.mark.parametrize("zipped_up", [False, True], ids=["folder", "zip"])
def test_the_bundle_check_of_several_notebooks_says_which_it_checked_as_the_grader_does(
    bundle_dir: Path, tmp_path: Path, zipped_up: bool
) -> None:
    """check.py checked the notebook the grader grades of several and did not say so (the
    grader: "found 2 notebooks; graded ...; not graded: ... Submit one notebook."), and said
    instead "the .py files beside it hold no work yet, only untouched stubs ()" of no file."""
    from click.testing import CliRunner
    from notebooks import lecture_notebook

    from grader.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "backprop_ninja.ipynb").write_bytes((STUBS / "backprop_ninja.ipynb").read_bytes())
    solved = lecture_notebook({f: solution(f) for f in FILES}, "jupyter")
    (folder / "backprop_ninja-Copy1.ipynb").write_bytes(solved)
    path = folder
    if zipped_up:
        path = tmp_path / "hw.zip"
        path.write_bytes(zipped({f.name: f.read_bytes() for f in folder.iterdir()}))
    done = CliRunner().invoke(main, ["check", str(path)])
    assert done.exit_code == 0, done.output
    local = bundle_check(bundle_dir, path)
    notes = [ln for ln in local.splitlines() if ln.startswith("Note: ")]
    assert notes == [ln for ln in done.output.splitlines() if ln.startswith("Note: ")]
    assert notes[0] == (
        "Note: found 2 notebooks; graded backprop_ninja-Copy1.ipynb, which implements the most "
        "gradient functions (29); not graded: backprop_ninja.ipynb. Submit one notebook."
    ), local
    assert "untouched stubs" not in local and "36 of 36" in local


def test_grader_check_reads_a_students_folder_as_one_upload_whatever_files_lie_beside(
    tmp_path: Path,
) -> None:
    """A `submission_metadata.yml` kept beside the work (a downloaded export) made the check
    refuse the folder as "several submissions"; it is the student's one upload, as
    `grader grade --one` reads it. A folder of submission folders is still refused, clearly."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = student_folder(tmp_path / "mine", {})
    (folder / "submission_metadata.yml").write_text("submission_1:\n  :submitters: []\n")
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert done.exit_code == 0, done.output
    assert "36 of 36" in done.output
    class_folder = tmp_path / "class"
    class_folder.mkdir()
    for name in ("alice", "bob"):
        student_folder(class_folder / name, {})
    refused = CliRunner().invoke(main, ["check", str(class_folder)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "holds several submissions' folders or zips; give the one folder" in refused.output


def test_grader_check_reads_a_folder_holding_one_zip_as_that_upload(tmp_path: Path) -> None:
    """A student who zipped their files to upload, and checks the folder the zip lies in, was
    told the folder "holds several submissions' folders": one zip is read as their upload."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    work = {f"{n}.py": solution(n) for n in ("exercise1", "exercise2", "exercise3")}
    (folder / "upload.zip").write_bytes(zipped(work))
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert done.exit_code == 0, done.output
    assert "36 of 36" in done.output and "read exercise1.py from the zip upload.zip" in done.output
    (folder / "second.zip").write_bytes(zipped(work))
    refused = CliRunner().invoke(main, ["check", str(folder)])
    assert refused.exit_code == 1 and "several submissions' folders or zips" in refused.output


def test_the_bundle_check_stops_endless_loops_and_cuts_a_print_flood(tmp_path, monkeypatch):
    """check.py ran the student's code with no time limit and kept every print: an endless loop
    hung it for good with nothing on screen, and a print in a loop sent 40 MB to the terminal
    (or the notebook), where the grader says TIMEOUT after its limit and keeps 16,000 bytes."""
    from grader import local_check
    from grader.backprop_ninja import student_check_driver as driver

    # Limits short enough for a quick test, long enough that a right call on a loaded machine
    # (three suites sharing two cores) is never taken for a loop: 0.5 s once timed out dC.
    monkeypatch.setattr(local_check, "CALL_SECONDS", 2.0)
    monkeypatch.setattr(local_check, "IMPORT_SECONDS", 2.0)
    # A call in the loop: Python 3.10 never stops `while True: try: pass` (a signal or an
    # async exception waits for an instruction that never comes; docs/student-pythons.md).
    loop = "\n\ndef dlogits(logits, Yb, n):\n    while True:\n        try:\n            len(())\n"
    loop += "        except Exception:\n            pass\n"
    folder = student_folder(
        tmp_path / "mine",
        {
            "exercise1": solution("exercise1")
            + "\nfor _ in range(100_000):\n    print('x' * 99)\n",
            "exercise2": solution("exercise2").replace("def dlogits(", "def unused(") + loop,
            "exercise3": "while True:\n    pass\n",
        },
    )
    result = driver.check(folder)
    status = {i["id"]: (i["status"], i["message"]) for i in result["items"]}
    assert status["exercise2.dlogits"][0] == "timeout"
    assert status["exercise2.dlogits"][1].endswith(": no answer within 2 s (an endless loop?)")
    assert status["exercise2.dhprebn"][0] == "passed"
    assert status["exercise3.dW1"][0] == "timeout"
    assert "importing exercise3.py timed out:\nno answer within 2 s" in status["exercise3.dW1"][1]
    printed = result["output"]["exercise1"]
    assert len(printed) < 16_100 and printed.endswith("more bytes of output were cut]")
    assert status["exercise1.dC"][0] == "passed"


def test_what_student_code_writes_to_its_descriptors_is_printed_as_the_grader_prints_it(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """Output written past sys.stdout (`print(..., file=sys.__stdout__)`, `os.write(2, ...)`)
    reaches the grader through the process's descriptors 1 and 2, like a print: its table says
    "exercise1.py printed:", cut at 16,000 bytes. check.py let it through to the terminal, above
    the table and uncut (a 40 MB flood), and its table missed it (fortieth session)."""
    debug = "    import sys\n    print('debug dlogprobs', file=sys.__stdout__)\n"
    flood = "import os\nfor _ in range(20):\n    os.write(2, b'z' * (1 << 20))\n"
    at = "    dlogprobs = torch.zeros_like(logprobs)\n"
    src = mutated("exercise1", at, debug + at)
    anchor = "import torch.nn.functional as F  # noqa: F401 (F.one_hot and F.softmax are handy)\n"
    folder = student_folder(
        tmp_path / "mine",
        {"exercise1": src, "exercise2": mutated("exercise2", anchor, anchor + flood)},
    )
    done = subprocess.run(
        [sys.executable, "check.py", str(folder)],
        cwd=bundle_dir,
        capture_output=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0 and done.stderr == b"", done.stderr[:300]
    assert len(done.stdout) < 60_000, len(done.stdout)
    local = done.stdout.decode()
    assert local.rstrip("\n") == render(graded(public_grader, folder), where=str(folder))
    assert "\nexercise1.py printed:\ndebug dlogprobs\ndebug dlogprobs\n" in local, local[-800:]
    assert "\nexercise2.py printed:\nzzzz" in local and "more bytes of output were cut]" in local


def test_a_dataclass_in_a_file_imports_in_the_bundle_check_as_in_the_grader(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """A dataclass looks its module up in sys.modules as it is made. The check put the file's
    module there and then took it out again with the exercise modules the grader's process
    lacks: every function of the file was ERROR ("'NoneType' object has no attribute
    '__dict__'") where the grader passed them all (fortieth session)."""
    dataclass = "\nfrom dataclasses import dataclass\n\n\n@dataclass\nclass Sizes:\n    n: int\n"
    source = solution("exercise1") + dataclass
    folder = student_folder(tmp_path / "mine", {"exercise1": source})
    local = bundle_check(bundle_dir, folder)
    assert local.rstrip("\n") == render(graded(public_grader, folder), where=str(folder))
    assert "36 of 36 items passed on the public cases." in local


def test_grader_check_says_why_a_file_it_holds_was_left_out(tmp_path: Path) -> None:
    """Two different browser copies of one exercise are graded as neither; `grader check`
    said only "exercise1.py was not submitted" on each item, with nothing about why."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = student_folder(tmp_path / "mine", {})
    (folder / "exercise1.py").rename(folder / "exercise1 (1).py")
    (folder / "exercise1 (2).py").write_text(mutated("exercise1", "def dC(", "def dc("))
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert done.exit_code == 0, done.output
    assert (
        "Note: exercise1.py: ambiguous: exercise1 (1).py, exercise1 (2).py could each be "
        "exercise1.py and differ" in done.output
    )


def test_a_file_renamed_with_its_exercise_s_number_is_named_as_its_likely_file(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """exercise1.py saved as `ex1.py`: both checks said only "not in your upload, which held
    ex1.py, exercise2.py, exercise3.py" (in the bundle's folder, after README.md, check.py and a
    dozen more), leaving the student to see that the grader reads exact names."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = student_folder(tmp_path / "mine", {})
    (folder / "exercise1.py").rename(folder / "ex1.py")
    (folder / "notes.py").write_text("x = 1\n")
    said = "ex1.py may be it: the grader reads only exercise1.py, so rename it"
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert done.exit_code == 0, done.output
    assert said in done.output, done.output
    assert said in bundle_check(bundle_dir, folder)


def test_a_function_commented_out_by_a_notebook_s_download_is_named_with_its_line(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """Colab's Download .py comments out every line of a `%%time` cell (`# %%time`, `# def
    dlogprobs(...`): such an export submitted as exercise1.py was told only "no function
    `dlogprobs` in exercise1.py", its definition in plain sight. The grader (`grader check`
    runs its session) and check.py name the line and say why; a `def` commented out by hand
    gets the line alone; a function that is defined stays unaffected."""
    from click.testing import CliRunner

    from grader.cli import main

    source = solution("exercise1")

    def commented(text: str, name: str, magic: str) -> str:
        # As the export writes a magic's cell, an empty line in it too (`# `); by hand, not.
        start = text.index(f"def {name}(")
        end = text.index("\ndef ", start + 1)
        empty = "# " if magic else ""
        lines = [f"# {line}" if line.strip() else empty for line in text[start:end].splitlines()]
        return text[:start] + magic + "\n".join(lines) + "\n" + text[end:]

    magic = "# Commented out IPython magic to ensure Python compatibility.\n# %%time\n"
    source = commented(source, "dlogprobs", magic)
    source = commented(source, "dcounts", "")
    folder = student_folder(tmp_path / "mine", {"exercise1": source})
    lines = source.splitlines()
    first = lines.index("# def dlogprobs(logprobs, Yb, n):") + 1
    second = lines.index("# def dcounts(counts_sum_inv, dprobs, dcounts_sum):") + 1
    exported = (
        f"no function `dlogprobs` in exercise1.py: line {first} holds its definition commented "
        "out (`# def dlogprobs(`), as a notebook's Download .py writes every line of a cell that "
        "starts with a cell magic such as `%%time`: take the `# ` off the function's lines"
    )
    by_hand = (
        f"no function `dcounts` in exercise1.py: line {second} holds its definition commented "
        "out (`# def dcounts(`): take the `# ` off its lines"
    )
    done = CliRunner().invoke(main, ["check", str(folder)])
    local = bundle_check(bundle_dir, folder)
    for printed in (done.output, local):
        flat = " ".join(printed.split())  # the table's rows may wrap
        assert exported in flat and by_hand in flat, printed
        assert "34 of 36 items passed" in printed, printed


def test_swapped_exercise_files_are_named_with_the_fix(bundle_dir: Path, tmp_path: Path) -> None:
    """Exercise 1's functions saved in exercise2.py and exercise 2's in exercise1.py: both
    checks printed 24 "no function" rows and not a word of the swap, which the TA's list
    flagged; each now says it in one note naming the fix, as the grader's result does."""
    from click.testing import CliRunner

    from grader.cli import main

    swapped = {"exercise1": solution("exercise2"), "exercise2": solution("exercise1")}
    folder = student_folder(tmp_path / "mine", swapped)
    said = (
        "Note: exercise1.py holds the functions of exercise2.py and exercise2.py those of "
        "exercise1.py: the two files look swapped, and the grader reads each exercise from the "
        "file of its name; rename exercise1.py to exercise2.py and exercise2.py to exercise1.py"
    )
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert done.exit_code == 0, done.output
    assert said in done.output, done.output
    assert said in bundle_check(bundle_dir, folder)


def test_the_bundle_s_own_files_are_not_listed_as_what_its_folder_held(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """check.py run in the bundle's own folder, exercise1.py saved as mine1.py: the row said the
    folder held README.md, backprop_ninja.ipynb, census_names.txt, check.py, ... and 20 more,
    twenty-odd of them the bundle's own (its package's modules); it now names the student's.
    The work is in the .py files (a folder of untouched stubs has its notebook checked)."""
    folder = tmp_path / "backprop-ninja"
    shutil.copytree(bundle_dir, folder)
    for name in FILES:
        (folder / f"{name}.py").write_text(solution(name))
    (folder / "exercise1.py").rename(folder / "mine1.py")
    done = subprocess.run(
        [sys.executable, "check.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    held = "the upload held backprop_ninja.ipynb, exercise2.py, exercise3.py, mine1.py)"
    assert f"mine1.py may be it: the grader reads only exercise1.py, so rename it ({held}" in (
        done.stdout
    ), done.stdout
    for own in ("README.md", "check.py", "train.py", "census_names.txt", "_ninja_check/"):
        assert own not in done.stdout, own


def test_the_bundle_check_takes_a_browser_renamed_file_as_the_grader_does(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """check.py read `exercise1.py` only: a browser's `exercise1 (1).py` was "not submitted"
    there, while the grader (and `grader check`) graded it. Two different copies are left out
    by both, with the same note."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = student_folder(tmp_path / "mine", {})
    (folder / "exercise1.py").rename(folder / "exercise1 (1).py")
    local = bundle_check(bundle_dir, folder)
    assert "Note: graded exercise1 (1).py as exercise1.py" in local
    assert "36 of 36 items passed" in local
    (folder / "exercise1 (2).py").write_text(mutated("exercise1", "def dC(", "def dc("))
    local = bundle_check(bundle_dir, folder)
    checked = CliRunner().invoke(main, ["check", str(folder)]).output
    note = "Note: exercise1.py: ambiguous: exercise1 (1).py, exercise1 (2).py could each be"
    assert note in local and note in checked
    assert "10 of 36 items passed" in local and "10 of 36 items passed" in checked


def test_the_bundle_check_gives_the_grader_s_notes_on_the_files_it_took(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """A student's work saved again by the browser as `exercise1 (1).py` beside the untouched
    stub `exercise1.py`: the grader grades the stub and says it also found the copy, and says
    which files the upload held when an exercise is not among them. check.py said neither, so
    its table of `todo` rows gave no clue that the work sat in another file."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "exercise1.py").write_text((STUBS / "exercise1.py").read_text())
    (folder / "exercise1 (1).py").write_text(solution("exercise1"))
    (folder / "Exercise 3 - Copy.py").write_text(solution("exercise3"))
    (folder / "exercise2.txt").write_text(solution("exercise2"))  # no .py: not an exercise
    local = bundle_check(bundle_dir, folder)
    checked = CliRunner().invoke(main, ["check", str(folder)]).output
    notes = [ln for ln in checked.splitlines() if ln.startswith("Note: ")]
    assert notes == [
        "Note: also found exercise1 (1).py: not graded (graded exercise1.py)",
        "Note: graded Exercise 3 - Copy.py as exercise3.py",
        "Note: exercise2.py: missing: not in your upload, which held Exercise 3 - Copy.py, "
        "exercise1 (1).py, exercise1.py, exercise2.txt",
    ]
    assert [ln for ln in local.splitlines() if ln.startswith("Note: ")] == notes
    assert local == checked


def test_a_package_only_the_student_has_fails_the_bundle_check_as_in_the_grader(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """einops or scipy, installed on the student's laptop or in Colab, imported the file there:
    check.py said ok on every row while the grader, which has only the standard library, torch
    and numpy for student code, could not import the file and scored the exercise 0."""
    fake = tmp_path / "site"
    fake.mkdir()
    (fake / "student_only_pkg.py").write_text("def rows(x, n):\n    return x.view(n, -1)\n")
    folder = student_folder(
        tmp_path / "mine",
        {
            "exercise1": mutated(
                "exercise1", "import torch  #", "import student_only_pkg\nimport torch  #"
            ),
            "exercise2": mutated(
                "exercise2",
                "    dlogits = F.softmax(logits, 1)\n",
                "    import student_only_pkg\n\n    dlogits = F.softmax(logits, 1)\n",
            ),
        },
    )
    local = bundle_check(bundle_dir, folder, site=fake)
    assert local.rstrip("\n") == render(graded(public_grader, folder), where=str(folder))
    said = "it imports 'student_only_pkg', which the grader does not have"
    assert said in rows_of(local, "exercise1.dlogprobs")
    assert said in rows_of(local, "exercise2.dlogits")
    assert "ok" in rows_of(local, "exercise2.dhprebn")


def test_a_folder_without_exercise_files_gets_the_same_table_and_note_from_both(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """A student whose file was saved as `exercise3.txt`: `grader check` stopped with an
    error about submission folders and Gradescope exports, check.py printed rows of "missing"
    without a word on the file the folder held. Both now print the table and name it.
    (`exercise3.py.txt`, the whole name saved as text, is graded as exercise3.py.)"""
    from click.testing import CliRunner

    from grader.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "exercise3.txt").write_text(solution("exercise3"))
    local = bundle_check(bundle_dir, folder)
    checked = CliRunner().invoke(main, ["check", str(folder)])
    assert checked.exit_code == 0, checked.output
    note = (
        "Note: no exercise files found (expected exercise1.py, exercise2.py, exercise3.py, or "
        "a notebook that defines their functions); the upload held: exercise3.txt"
    )
    assert note in local.splitlines()
    assert local == checked.output
    assert "0 of 36 items passed" in local


def test_the_bundle_check_given_a_notebook_checks_it_as_the_grader_reads_it(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """`python check.py "Copy of backprop_ninja.ipynb"` (as `grader check` takes it) checked
    the .py stubs beside it and printed `todo` on every row; then it said "check.py checks .py
    files" and checked nothing, where layer-by-layer's check judged a notebook as the grader
    reads it. Both now do: the table and notes are `grader check`'s, word for word."""
    from click.testing import CliRunner
    from notebooks import filled_assignment_notebook

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    notebook = folder / "Copy of backprop_ninja.ipynb"
    (folder / "backprop_ninja.ipynb").rename(notebook)
    notebook.write_bytes(filled_assignment_notebook({f: solution(f) for f in FILES}, "jupyter"))
    said = bundle_check(bundle_dir, notebook)
    done = CliRunner().invoke(main, ["check", str(notebook)])
    assert "36 of 36 items passed" in done.output, done.output
    assert said == done.output + NOTEBOOK_CLOSING, said
    assert "Note: graded the notebook Copy of backprop_ninja.ipynb (exercise1: 26" in said


# What check.py adds under the table of a notebook it checked (the grader's table has none).
NOTEBOOK_CLOSING = (
    "(the notebook's own check cells check each exercise as you work: run them in Jupyter or "
    "Colab)\n"
)


def bundle_copy(bundle_dir: Path, folder: Path) -> Path:
    """The bundle's folder as a student has it before any work: its notebook and untouched
    stubs (the module's bundle_dir may hold other tests' files by now)."""
    shutil.copytree(bundle_dir, folder, ignore=shutil.ignore_patterns("_ninja_check", "*.md"))
    for name in FILES:
        shutil.copyfile(STUBS / f"{name}.py", folder / f"{name}.py")
    shutil.copyfile(STUBS / "backprop_ninja.ipynb", folder / "backprop_ninja.ipynb")
    return folder


def test_the_bundle_check_of_a_zip_checks_what_the_zip_holds_as_the_grader_does(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """`python check.py hw.zip` checked the zip's folder: the untouched stubs beside it, `todo`
    on every row and "did not open hw.zip", where `grader check hw.zip` and the grader, given
    the zip, graded its files: 36 of 36."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    upload = folder / "hw.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for name in FILES:
            zf.writestr(f"hw/{name}.py", solution(name))
    said = bundle_check(bundle_dir, upload)
    assert "36 of 36 items passed" in said, said
    assert f"Public check of {upload}" in said
    done = CliRunner().invoke(main, ["check", str(upload)])
    assert "36 of 36 items passed" in done.output, done.output
    (folder / "cut.zip").write_bytes(upload.read_bytes()[:100])
    assert "cut.zip: not a readable zip" in bundle_check(bundle_dir, folder / "cut.zip")


def test_the_bundle_check_says_the_grader_s_notes_on_reading_a_zip_s_notebook(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """What the grader says as it reads a notebook against the upload's byte budget (a zip
    holding it twice, identical: read once) was left out of check.py's notes, which read it
    the same way (thirty-ninth session)."""
    import warnings

    from click.testing import CliRunner

    from grader.cli import main

    cells = [
        {"cell_type": "code", "metadata": {}, "source": solution(f), "outputs": []} for f in FILES
    ]
    notebook = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    upload = tmp_path / "hw.zip"
    with zipfile.ZipFile(upload, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile's "Duplicate name"
        zf.writestr("hw.ipynb", notebook)
        zf.writestr("hw.ipynb", notebook)
    said = "Note: the upload holds hw.ipynb 2 times, all identical: read once"
    done = CliRunner().invoke(main, ["check", str(upload)])
    local = bundle_check(bundle_dir, upload)
    notes = [
        [ln for ln in out.splitlines() if ln.startswith("Note: ")] for out in (done.output, local)
    ]
    assert notes[0][0] == said, notes[0]
    assert notes[1] == notes[0]


def test_the_bundle_check_of_its_folder_names_the_notebook_the_grader_grades_instead(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """A student who worked in the bundle's notebook in Jupyter and ran `python check.py` in
    its folder got `todo` on every row, 0 of 36, for the untouched stubs beside it, where the
    grader, given that folder, grades the notebook: 36 of 36. The check then said so and sent
    them to the notebook's check cells, checking nothing; it now checks the notebook as the
    grader does, in its words. With the notebook untouched too (the first run, before any
    work) it tabled the stubs, where the grader grades the notebook (every row `todo` either
    way, the notes not): it now checks the notebook there too."""
    from click.testing import CliRunner
    from notebooks import filled_assignment_notebook

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    untouched = bundle_check(bundle_dir, folder)
    assert "0 of 36 items passed" in untouched
    first = CliRunner().invoke(main, ["check", str(folder)])
    assert untouched == first.output + NOTEBOOK_CLOSING, untouched
    assert "Note: graded the notebook backprop_ninja.ipynb: the .py files beside it" in untouched
    solved = filled_assignment_notebook({f: solution(f) for f in FILES}, "jupyter")
    (folder / "backprop_ninja.ipynb").write_bytes(solved)
    done = CliRunner().invoke(main, ["check", str(folder)])
    assert "36 of 36 items passed" in done.output, done.output
    said = bundle_check(bundle_dir, folder)
    assert said == done.output + NOTEBOOK_CLOSING, said
    assert "Note: graded the notebook backprop_ninja.ipynb: the .py files beside it" in said
    assert "todo" not in said


def test_the_bundle_check_of_a_zip_names_the_notebook_the_grader_grades_instead(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """The bundle's folder zipped after working in its notebook alone: `grader check hw.zip`
    graded the notebook, 36 of 36, and `check.py hw.zip` tabled the untouched stubs beside
    it, 0 of 36 (a zip's notebook was never looked for). It now checks that notebook, as
    `grader check` does."""
    from click.testing import CliRunner
    from notebooks import filled_assignment_notebook

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "backprop-ninja")
    solved = filled_assignment_notebook({f: solution(f) for f in FILES}, "jupyter")
    (folder / "backprop_ninja.ipynb").write_bytes(solved)
    upload = tmp_path / "hw.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(tmp_path))
    done = CliRunner().invoke(main, ["check", str(upload)])
    assert "36 of 36 items passed" in done.output, done.output
    said = bundle_check(bundle_dir, upload)
    assert said == done.output + NOTEBOOK_CLOSING, said
    assert "todo" not in said


def test_the_bundle_check_of_its_folder_says_why_the_grader_skips_its_notebook(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """The bundle's folder, its stubs untouched, its notebook solved but holding a 5,000-digit
    execution count: the grader refuses the notebook in words naming the number and grades
    the stubs, 0 of 36; check.py skipped the notebook without a word and printed its table of
    `todo`, leaving the student no reason."""
    from click.testing import CliRunner
    from notebooks import filled_assignment_notebook

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    solved = filled_assignment_notebook({f: solution(f) for f in FILES}, "jupyter")
    long = solved.replace(b'"metadata": {', b'"metadata": {"n": ' + b"7" * 5000 + b", ", 1)
    (folder / "backprop_ninja.ipynb").write_bytes(long)
    done = CliRunner().invoke(main, ["check", str(folder)])
    said = next(line for line in done.output.splitlines() if "5000 digits long" in line)
    assert said.startswith("Note: backprop_ninja.ipynb holds a number 5000 digits long"), said
    checked = bundle_check(bundle_dir, folder)
    assert said in checked.splitlines(), checked
    assert "0 of 36 items passed" in checked


def test_both_checks_name_a_notebook_encrypted_in_its_zip(bundle_dir: Path, tmp_path: Path):
    """A zip of the exercise files and a notebook made with a password: the grader names the
    notebook it cannot read; check.py skipped it without a word."""
    from test_submissions import encrypted

    files = {f"{f}.py": solution(f) for f in FILES}
    files["hw.ipynb"] = json.dumps({"cells": [], "metadata": {}, "nbformat": 4})
    upload = tmp_path / "hw.zip"
    upload.write_bytes(encrypted(files, which=len(FILES)))
    said = (
        "Note: hw.ipynb could not be read: hw.ipynb is encrypted (its zip was made with a "
        "password), so it could not be read: upload a zip made without a password"
    )
    both_checks_say(bundle_dir, upload, said)


def test_both_checks_say_why_a_notebook_without_its_version_reads_as_no_code(
    bundle_dir: Path, tmp_path: Path
):
    """A version-4 notebook that lost its `nbformat` key (a script wrote it) is read as version
    1, whose code cells keep their code under `code`: its cells read as empty, 0 of 36 in the
    grader and the check, neither saying why."""
    cells = [
        {"cell_type": "code", "metadata": {}, "source": solution(f), "outputs": []} for f in FILES
    ]
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "hw.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}}))
    said = (
        "Note: hw.ipynb has no `nbformat` version, so it is read as version 1, whose cells keep "
        "their code under `code`; cells 1, 2 and 3 keep theirs under `source`, as version 4's "
        "do, so no code of it is read: open it in Jupyter or Colab, save it (nbformat 4), and "
        "submit it again"
    )
    both_checks_say(bundle_dir, folder, said)


def test_both_checks_say_a_notebook_cell_whose_source_is_no_text_was_not_read(
    bundle_dir: Path, tmp_path: Path
):
    """A cell whose source is a JSON object or a number (a script wrote it) was read as its
    value's printing and dropped as an expression, with no note in either check."""
    cells = [
        {"cell_type": "code", "metadata": {}, "source": solution(f), "outputs": []} for f in FILES
    ]
    cells.append({"cell_type": "code", "metadata": {}, "source": 42, "outputs": []})
    folder = tmp_path / "mine"
    folder.mkdir()
    notebook = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "hw.ipynb").write_text(json.dumps(notebook))
    said = (
        "Note: hw.ipynb: cell 4's source is a number, not text, which no notebook editor "
        "writes: the cell is not read (save the notebook again in Jupyter or Colab)"
    )
    both_checks_say(bundle_dir, folder, said)


def test_the_bundle_check_refuses_a_notebook_of_too_many_parts_in_the_graders_words(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """The bundle's folder, its notebook solved but its metadata holding 100,001 empty objects
    (a script's doing): the grader refuses it for its JSON parts, in words saying to clear its
    outputs; check.py parsed it all, found its work, and said the grader grades the notebook."""
    from click.testing import CliRunner
    from notebooks import filled_assignment_notebook

    from grader.cli import main
    from grader.notebook_json import MAX_JSON_CONTAINERS

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    solved = filled_assignment_notebook({f: solution(f) for f in FILES}, "jupyter")
    many = b"[" + b",".join([b"{}"] * MAX_JSON_CONTAINERS) + b"]"
    (folder / "backprop_ninja.ipynb").write_bytes(
        solved.replace(b'"metadata": {', b'"metadata": {"n": ' + many + b", ", 1)
    )
    done = CliRunner().invoke(main, ["check", str(folder)])
    said = next(line for line in done.output.splitlines() if "too many parts" in line)
    assert said.startswith("Note: backprop_ninja.ipynb has too many parts to be read"), said
    checked = bundle_check(bundle_dir, folder)
    assert said in checked.splitlines(), checked
    assert "0 of 36 items passed" in checked


def test_the_bundle_check_looks_for_notebooks_past_a_folder_it_cannot_list(tmp_path, monkeypatch):
    """A subfolder the student's account cannot list (another user's, a broken mount) is
    passed over in the search for a notebook, not raised out of check.py as a traceback."""
    from notebooks import filled_assignment_notebook

    from grader import uploads
    from grader.backprop_ninja.student_check_driver import EXPECTED
    from grader.notebook_instead import notebook_graded_instead

    (tmp_path / "locked").mkdir()
    (tmp_path / "work").mkdir()
    solved = filled_assignment_notebook({f: solution(f) for f in FILES}, "jupyter")
    (tmp_path / "work" / "backprop_ninja.ipynb").write_bytes(solved)
    opened = uploads.open_beneath

    def open_beneath(root, parts, *args, **kwargs):
        if parts and parts[-1] == "locked":
            raise PermissionError(13, "Permission denied", str(root / "locked"))
        return opened(root, parts, *args, **kwargs)

    monkeypatch.setattr(uploads, "open_beneath", open_beneath)
    found = notebook_graded_instead(tmp_path, FILES, EXPECTED)
    assert found is not None and found.name == "work/backprop_ninja.ipynb"


def without_numpy(tmp_path: Path) -> Path:
    """A folder that, put first on the path, makes a Python with numpy one without it (as
    `pip install torch` alone leaves it)."""
    fake = tmp_path / "fake"
    (fake / "numpy").mkdir(parents=True)
    (fake / "numpy" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'numpy'\")\n"
    )
    return fake


def test_the_bundle_check_is_quiet_without_numpy(bundle_dir: Path, tmp_path: Path) -> None:
    """`pip install torch` brings no numpy, and torch then warns at import ("Failed to
    initialize NumPy") on every run of check.py, which needs none."""
    folder = student_folder(tmp_path / "mine", {})
    fake = without_numpy(tmp_path)
    assert "36 of 36 items passed" in bundle_check(bundle_dir, folder, site=fake)  # no stderr


@pytest.mark.parametrize(
    ("old", "new", "grader_says"),
    [
        ("    return dlogits\n", "    return dlogits.numpy()\n", "returned a numpy array"),
        (AFTER_IMPORTS, AFTER_IMPORTS + "import numpy as np\n", "ok"),
    ],
    ids=[".numpy()", "import numpy"],
)
def test_numpy_code_without_numpy_says_what_the_check_cannot_tell(
    bundle_dir: Path, public_grader, tmp_path: Path, old: str, new: str, grader_says: str
) -> None:
    """numpy is the grader's and student code may use it, but a Python with torch alone has
    none: there a dlogits returning `.numpy()` was "RuntimeError: Numpy is not available" in
    check.py (WRONG, "returned a numpy array", in the grader), and `import numpy` was "which
    the grader does not have: use only torch, ... and numpy". check.py cannot run numpy code
    without numpy, so the verdicts differ; its row says why, and how to see the grader's."""
    folder = student_folder(tmp_path / "mine", {"exercise2": mutated("exercise2", old, new)})
    table = bundle_check(bundle_dir, folder, site=without_numpy(tmp_path))
    local = rows_of(table, "exercise2.dlogits")
    graded_row = rows_of(render(graded(public_grader, folder)), "exercise2.dlogits")
    assert grader_says in graded_row
    assert "ERROR" in local, local
    assert "which the grader has and the Python running this check does not" in local, local
    assert "pip install numpy" in local
    assert "does not have: use only" not in local


def test_the_check_s_autograd_words_are_the_grader_s():
    """The sandbox imports nothing of the grader's: its refusal's words are held to the check's
    here, so that a grad switch refused in both reads the same in both tables."""
    tree = ast.parse((isolation.INSIDE / "noautograd.py").read_text())
    (message,) = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["MESSAGE"]
    ]
    assert message == AUTOGRAD_OFF


def test_the_check_refuses_the_functorch_entries_the_sandbox_refuses():
    """Copied, since the bundle ships no sandbox: held equal here, so that a torch.func
    transform refused in one is refused, in the same words, in the other."""
    from grader import check_process

    tree = ast.parse((isolation.INSIDE / "noautograd.py").read_text())
    (refused,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["_FUNCTORCH_REFUSED"]
    ]
    assert refused == check_process._FUNCTORCH_REFUSED


def test_the_check_refuses_the_operator_look_ups_the_sandbox_refuses():
    """Held among the sandbox's refusals here, since the bundle ships no sandbox: an operator
    looked up by name is refused, in the same words, in both."""
    from grader import check_process

    tree = ast.parse((isolation.INSIDE / "noautograd.py").read_text())
    (refused,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["_C_REFUSED"]
    ]
    assert set(check_process._LOOKUPS_REFUSED) <= set(refused)


def test_the_check_s_limits_are_the_grader_s():
    """The bundle cannot import the sandbox's Limits (it is not shipped): its copies are held
    to them here, so that an endless loop or a print flood gets the grader's verdict."""
    from grader import check_process, local_check
    from grader.sandbox.client import Limits

    limits = Limits()
    checks = (local_check.IMPORT_SECONDS, local_check.CALL_SECONDS, check_process.OUTPUT_BYTES)
    assert checks == (limits.import_seconds, limits.call_seconds, limits.output_bytes)


def test_the_bundle_check_finds_each_file_where_the_grader_does(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """check.py once read the folder's top alone: work kept in a subfolder or a zip was "not
    submitted" there and graded by the grader. Both now choose by one rule (`choosing`): the
    same files taken, the same notes on what was taken from where and what was left out."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    student_folder(folder / "hw3", {})
    (folder / "hw3" / "exercise3.py").unlink()
    with zipfile.ZipFile(folder / "upload.zip", "w") as z:
        z.writestr("exercise3.py", solution("exercise3"))
    old = folder / "old"
    old.mkdir()
    (old / "exercise2.py").write_text((STUBS / "exercise2.py").read_text())
    (folder / "hw3" / "exercise2.py").rename(folder / "exercise2.py")
    venv = folder / "venv"  # `python -m venv venv` beside the work: skipped, with one note
    deep = venv / "lib" / "python3.11" / "site-packages" / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (deep / "exercise1.py").write_text("")
    local = bundle_check(bundle_dir, folder)
    checked = CliRunner().invoke(main, ["check", str(folder)]).output
    notes = {line for line in local.splitlines() if line.startswith("Note:")}
    assert notes == {line for line in checked.splitlines() if line.startswith("Note:")}
    assert "Note: found exercise1.py in hw3/" in notes
    assert "Note: read exercise3.py from the zip upload.zip" in notes
    assert "Note: also found old/exercise2.py: not graded (graded exercise2.py)" in notes
    assert "Note: skipped venv/: a Python virtual environment (it holds pyvenv.cfg)" in notes
    # "found exercise3.py in upload.zip/" said again what the note on the zip says.
    assert len(notes) == 4, notes
    assert "36 of 36 items passed" in local and "36 of 36 items passed" in checked


def test_an_import_the_grader_lacks_fails_in_the_check_even_where_the_student_has_it(
    bundle_dir: Path, public_grader, tmp_path: Path
) -> None:
    """The lecture's first cell imports matplotlib; a student who keeps that line in
    exercise1.py and has matplotlib installed saw every item ok in check.py, and lost the whole
    file in the grader, which has no matplotlib. The check now refuses what the grader may lack
    (anything but the standard library, torch and numpy) from the student's files, with the
    grader's words, however rich the student's own Python is."""
    fakes = tmp_path / "site"
    (fakes / "matplotlib").mkdir(parents=True)
    (fakes / "matplotlib" / "__init__.py").write_text("")
    (fakes / "matplotlib" / "pyplot.py").write_text("def plot(*a): pass\n")
    source = mutated(
        "exercise1", AFTER_IMPORTS, AFTER_IMPORTS + "import matplotlib.pyplot as plt\n"
    )
    folder = student_folder(tmp_path / "mine", {"exercise1": source})
    local = bundle_check(bundle_dir, folder, site=fakes)
    assert local.rstrip("\n") == render(graded(public_grader, folder), where=str(folder))
    row = rows_of(local, "exercise1.dlogprobs")
    assert "ERROR" in row and "it imports 'matplotlib', which the grader does not have" in row
    assert "10 of 36 items passed" in local


# At import, half-second sleeps for 5 s, each swallowing whatever is raised in it.
SWALLOWING_SLEEPS = (
    "import time\nfor _ in range(10):\n    try:\n        time.sleep(0.5)\n"
    "    except BaseException:\n        pass\n"
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_check_py_stopped_by_a_signal_cleans_up_and_stops(bundle_dir: Path, tmp_path, sig):
    """SIGTERM ended check.py at once, leaving its working folder in the temporary directory;
    Ctrl-C while student code ran was taken for that code's error ("importing exercise1.py
    failed: KeyboardInterrupt") and the check went on. Now either stops it, even where the code
    swallows what is raised in it, the folder removed: SIGTERM exits 143, Ctrl-C ends as
    Python ends on it."""
    folder = student_folder(tmp_path / "mine", {"exercise1": SWALLOWING_SLEEPS})
    temp = tmp_path / "temp"
    temp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "check.py", str(folder)],
        cwd=bundle_dir,
        env={**os.environ, "TMPDIR": str(temp)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not list(temp.glob("*/exercise1")) and proc.poll() is None:
            if time.monotonic() > deadline:
                break  # then the signal comes before the import, and must still clean up
            time.sleep(0.05)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == (143 if sig == signal.SIGTERM else -signal.SIGINT), err
    assert "Public check" not in out and "failed: KeyboardInterrupt" not in out, out
    assert list(temp.iterdir()) == [], "check.py left its working folder behind"


@pytest.mark.parametrize("name", ["backprop-ninja", "layer-by-layer"])
def test_the_bundle_check_weighs_did_you_mean_against_the_grader_s_functions(name):
    """ "Did you mean" leaves out the names the grader asks for: the bundle's check and the
    grader's session must leave out the same ones, the ASSIGNMENT's `functions` (the check had
    exercise 3's item ids, dW1 ... training, where the grader asks for `backward`)."""
    import importlib

    from grader.assignment import load

    a = load(name)
    driver = importlib.import_module(f"{a.package}.student_check_driver")
    assert {f: frozenset(names) for f, names in a.functions} == driver.EXPECTED


def test_a_kernel_s_own_change_to_torch_between_two_checks_stays_the_kernel_s(
    tmp_path: Path,
) -> None:
    """The check keeps each file's changes to torch apart by comparing torch with a copy; a
    Jupyter kernel's own cell that changed torch between two checks (here `torch.exp`) had that
    change undone by the second, as if a student file had made it."""
    from grader.backprop_ninja.student_check_driver import check

    folder = student_folder(tmp_path / "mine", {})
    check(folder)
    real, mine = torch.exp, lambda x: x
    torch.exp = mine
    try:
        check(folder)
        assert torch.exp is mine
    finally:
        torch.exp = real


LOCAL_TRAINING_MESSAGE = """
import sys
from pathlib import Path
from grader.backprop_ninja.student_check_driver import check

result = check(Path(sys.argv[1]))
(training,) = [i for i in result["items"] if i["id"] == "exercise3.training"]
print(training["cases"][0]["message"])
"""


def test_check_py_says_a_missing_exercise3_as_the_grader_does_on_the_training_row(tmp_path):
    """check.py's training row read "step 1: exercise3.py: not in your upload, ..." for a folder
    without exercise3.py, where its seven gradient rows read the reason alone: the file's
    absence is the whole file's, as in the grader, not the run's first step's."""
    for name in ("exercise1", "exercise2"):
        (tmp_path / f"{name}.py").write_text(solution(name))
    done = subprocess.run(
        [sys.executable, "-c", LOCAL_TRAINING_MESSAGE, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    said = "exercise3.py: not in your upload, which held exercise1.py, exercise2.py"
    assert done.stdout.strip().splitlines()[-1] == said


def test_a_notebook_with_work_beside_py_files_with_work_is_named_by_the_check_as_by_the_grader(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """Exercise 1 started in the bundle's exercise1.py, all three done in its notebook: the
    grader grades the .py files and says so, check.py judged the same files and said nothing,
    and the student's exercises 2 and 3 scored 0 from their untouched stubs unwarned."""
    from click.testing import CliRunner
    from notebooks import lecture_notebook

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    (folder / "exercise1.py").write_text(solution("exercise1"))
    (folder / "backprop_ninja.ipynb").write_bytes(
        lecture_notebook({f: solution(f) for f in FILES}, "colab")
    )
    local = bundle_check(bundle_dir, folder)
    checked = CliRunner().invoke(main, ["check", str(folder)])
    assert checked.exit_code == 0, checked.output
    note = (
        "Note: graded your .py files (exercise1.py, exercise2.py, exercise3.py), not the "
        "notebook backprop_ninja.ipynb: when both are submitted, the .py files count, so its "
        "work for exercise2, exercise3 is not graded (those .py files hold none)."
    )
    assert any(line.startswith(note) for line in local.splitlines()), local
    assert local == checked.output


def test_check_py_says_the_notebook_left_ungraded_above_what_is_missing_as_the_grader_does(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """exercise1.py alone beside a notebook holding all three exercises: the grader notes the
    notebook left ungraded, then exercise2.py and exercise3.py missing; check.py said the
    missing files first and the notebook last, so the two printed different pages."""
    from click.testing import CliRunner
    from notebooks import lecture_notebook

    from grader.cli import main

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "exercise1.py").write_text(solution("exercise1"))
    (folder / "hw.ipynb").write_bytes(lecture_notebook({f: solution(f) for f in FILES}, "colab"))
    local = bundle_check(bundle_dir, folder)
    checked = CliRunner().invoke(main, ["check", str(folder)])
    assert checked.exit_code == 0, checked.output
    notes = [line for line in local.splitlines() if line.startswith("Note: ")]
    assert notes[0].startswith("Note: graded your .py files (exercise1.py), not the notebook")
    assert notes[1].startswith("Note: exercise2.py: missing: not in your upload"), notes
    assert local == checked.output


@pytest.mark.parametrize("zipped", ["the folder", "its files"])
@pytest.mark.parametrize("notebook", ["with work", "untouched"])
def test_the_bundle_check_of_a_zipped_folder_says_what_grader_check_says(
    bundle_dir: Path, tmp_path: Path, notebook: str, zipped: str
) -> None:
    """The bundle's folder zipped whole (`backprop-ninja/...`), exercise 1 in exercise1.py:
    check.py noted "found exercise1.py in backprop-ninja/" of each file where `grader check`
    of the same zip was silent (the grader reads a zip of one folder as that folder), and
    never named the notebook beside them whose work the grader leaves ungraded."""
    from click.testing import CliRunner
    from notebooks import lecture_notebook

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "backprop-ninja")
    (folder / "exercise1.py").write_text(solution("exercise1"))
    if notebook == "with work":
        (folder / "backprop_ninja.ipynb").write_bytes(
            lecture_notebook({f: solution(f) for f in FILES}, "colab")
        )
    upload = tmp_path / "hw.zip"
    with zipfile.ZipFile(upload, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(tmp_path if zipped == "the folder" else folder))
    local = bundle_check(bundle_dir, upload)
    checked = CliRunner().invoke(main, ["check", str(upload)])
    assert checked.exit_code == 0, checked.output
    assert "found exercise1.py" not in local, local
    said = "not the notebook backprop_ninja.ipynb"
    assert (said in local) == (notebook == "with work"), local
    assert local == checked.output


def test_the_bundle_s_untouched_notebook_beside_py_files_with_work_draws_no_note(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """The bundle's folder worked in its .py files, its notebook untouched: `grader check` (and
    the grader, the folder zipped whole) told the student "graded your .py files, not the
    notebook ...: Submit only the one you want graded", of a notebook with nothing in it, and
    check.py did not: the two disagreed on the same folder."""
    from click.testing import CliRunner

    from grader.cli import main

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    (folder / "exercise1.py").write_text(solution("exercise1"))
    local = bundle_check(bundle_dir, folder)
    checked = CliRunner().invoke(main, ["check", str(folder)])
    assert checked.exit_code == 0, checked.output
    assert "not the notebook" not in checked.output, checked.output
    assert local == checked.output


def test_check_py_prints_every_file_name_as_a_terminal_may_print_it(bundle_dir: Path, tmp_path):
    """check.py printed a notebook's name raw in its own lines ("... is a notebook: check.py
    checks .py files", "... beside them does: the grader grades the notebook"), and so the
    folder it could not find: a name holding `ESC [ 2J` cleared the student's screen. Every
    name it prints now goes through student_text.terminal_text, as the table does."""
    from notebooks import filled_assignment_notebook

    folder = bundle_copy(bundle_dir, tmp_path / "mine")
    odd = "a\x1b[2Jb\u202e.ipynb"
    (folder / "backprop_ninja.ipynb").rename(folder / odd)
    (folder / odd).write_bytes(filled_assignment_notebook({f: solution(f) for f in FILES}))
    gone = folder / "gone\x1b]52;c;eA==\x07"
    for given, status in ((folder, 0), (folder / odd, 0), (gone, 1)):  # 1: no such path
        said = bundle_check(bundle_dir, given, status=status)
        assert "\x1b" not in said and "\u202e" not in said and "\x07" not in said, said
        assert "\\x1b" in said, said


def test_a_notebook_s_missing_and_failing_functions_are_named_by_check_py_as_by_the_grader(
    bundle_dir: Path, tmp_path: Path
) -> None:
    """A notebook whose dh raises, whose dhprebn is renamed and which has no exercise 3: the
    grader names the notebook's exercise ("no function `dhprebn` in exercise2 of the notebook
    q.ipynb", "the notebook q.ipynb defines no function of exercise3"), where a check of the
    functions it reads named files the student never had ("exercise3.py: not in your upload",
    and a note saying so). The check's session now names them as the grader's does."""
    from click.testing import CliRunner
    from notebooks import code, save

    from grader.cli import main

    broken = solution("exercise1").replace("    return dh\n", "    raise ValueError('no dh')\n")
    renamed = solution("exercise2").replace("def dhprebn(", "def dhprebn_x(")
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["## Exercise 1\n"]},
        code(broken),
        {"cell_type": "markdown", "metadata": {}, "source": ["## Exercise 2\n"]},
        code(renamed),
    ]
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "q.ipynb").write_bytes(save(cells))
    said = bundle_check(bundle_dir, folder / "q.ipynb")
    done = CliRunner().invoke(main, ["check", str(folder / "q.ipynb")])
    assert said == done.output + NOTEBOOK_CLOSING, said
    assert "no function `dhprebn` in exercise2 of the notebook q.ipynb" in rows_of(
        said, "exercise2.dhprebn"
    )
    assert "exercise3.py" not in said, said
