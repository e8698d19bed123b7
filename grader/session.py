"""One submission being graded: its files, their student processes, and calls by argument name.

A suite asks the session to call `exercise1.dcounts` with what is available for a case; the
session checks the name exists (or suggests one), the declared arguments are allowed, the static
scan found no autograd, then sends exactly the declared arguments and returns the outcome. Each
exercise file gets its own student process, so nothing one file learns reaches another; a
process that dies is replaced, and the file reloaded, before the next call. No process answers
a public call once any process of the submission was handed a hidden case's inputs (see
`call_each`). Every verdict that a limit of the run's conditions gave (a timeout, an allocation
refused, a process the OOM killer took) is noted where it arose (`limits_reached`), so that a
later batch grades the submission again instead of keeping it.
"""

from __future__ import annotations

import difflib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .assignment import ContentError
from .calls import plan_call
from .records import Outcome
from .sandbox.client import Reply, StudentProcess, Zygote
from .sandbox.memory import oom_kills
from .staticscan import Scan, scan
from .student_text import (
    autograd_used,
    call_failure,
    empty_file,
    import_failure,
    in_notebook,
    left_out,
    missing_function,
    missing_module,
    not_in_notebook,
    notebook_frames,
    scanned_out,
    unreachable,
    with_a_word_added,
)
from .timing import CallTimer

# Outcome kinds become case statuses; "crash" is an error in the SPEC's vocabulary.
_STATUS = {
    "not_implemented": "not_implemented",
    "timeout": "timeout",
    "missing": "missing",
    "error": "error",
    "crash": "error",
    "forbidden": "forbidden",
}


MAX_DID_YOU_MEAN = 1_000  # names of a file weighed for "did you mean"
# The share of the submission's time budget kept for the functions that have not spent theirs,
# split among the functions of the files that can run (each file's `expected` functions; a file
# the assignment names none of is one unit): one file's endless loops (every function of
# exercise 1 calling a helper that never returns: 26 timeouts of 10 s, twice with the chain)
# once spent the whole budget before the other files' first calls, which came back "timed out",
# right as they were; and within one file, one slow function (right, 9.3 s a call, inside the
# call limit, over its 35 calls) spent it before the hidden cases of the five other functions
# of an assignment with a single file, right too, which scored 30 of 100 (docs/threat-model.md).
RESERVED_SHARE = 0.5

# The limits a verdict can come from that the run's conditions set, not the code alone: a call's
# or an import's time on a loaded machine, the submission's total time budget, and memory, whose
# share per student process shrinks with the processes grading at once (-j) and with what the
# container had left (sandbox/memory.py). result.json's `limits_reached` names each one reached,
# and a later batch grades such a result again rather than keeping it (batch._reused).
CALL_SECONDS = "call_seconds"  # a call gave no answer within its time
IMPORT_SECONDS = "import_seconds"  # an import did not finish within its time
TIME_BUDGET = "time_budget"  # the submission's total time budget ran out before a call
MEMORY = "memory"  # an allocation refused (MemoryError, torch's allocator): worker.out_of_memory
# A process ended without answering while the kernel's OOM killer killed something.
MEMORY_KILLED = "memory_killed"
# The sandbox could not start a process for the file (client.StudentProcess.hello): no code of
# the student's ran, and every item of the file said "not your code's fault".
PROCESS_START = "process_start"
MAX_LIMITS_REACHED = 50  # entries kept: one is enough to regrade, the rest tell the TA where


@dataclass(frozen=True)
class LimitReached:
    """One limit a verdict of this grading came from, and where: `file.func`, or `file.py` for
    its import."""

    limit: str
    at: str

    def to_json(self) -> dict[str, str]:
        return {"limit": self.limit, "at": self.at}


@dataclass
class StudentFile:
    """One exercise file as submitted: its source, what the scan saw, its process once loaded."""

    name: str
    source: str | None
    scan: Scan | None = None
    process: StudentProcess | None = None
    functions: dict[str, dict] = field(default_factory=dict)
    load_error: Outcome | None = None
    output: list[str] = field(default_factory=list)


class Session:
    def __init__(
        self,
        sources: dict[str, str | None | Exception],
        zygote: Zygote,
        public_only: bool = False,
        time_budget: float = 300.0,
        expected: dict[str, frozenset[str]] | None = None,
        static_scan: bool = True,
        timer: CallTimer | None = None,
        notebook: str = "",
        absent: dict[str, str] | None = None,
    ):
        """`sources`: each file's text, None when absent, or the reason it cannot be read.

        `absent`: why a file of `sources` is None where the upload says (two differing copies,
        too large, encrypted in its zip), printable: each of its items says so. They said
        "layers.py was not submitted" to a student who had submitted it twice.

        `notebook`: the notebook the sources were read from, if they were: messages then name
        an exercise of it, not a `.py` file the student never had.

        `expected`: each file's functions, the assignment's `functions`: the only names a
        suite may ask it for, and no student's typo in "did you mean".
        `timer`: told how long each call that returned a value took (timing.py).
        """
        self.timer = timer
        self.zygote = zygote
        self.expected = expected or {}
        self.notebook = notebook
        self.absent = absent or {}
        # Off only in tests that prove the sandbox's own layers hold without the scan's help.
        self.static_scan = static_scan
        self.public_only = public_only
        self.time_budget = time_budget
        # Seconds each file's imports and calls took: a file spends its own (`time_left`).
        self.spent: dict[str, float] = dict.fromkeys(sources, 0.0)
        # (file, func, scope) of each call that timed out: one endless loop costs its own time
        # once, not once per case. Per scope (call_each): a function serving several items
        # (a reported-only chain, a training run, one function judged as two items) once had
        # a timeout in one skip the others' cases: a backward hanging in a training run alone
        # lost 5 of 7 cases of each of its seven gradient items.
        self.timed_out: set[tuple[str, str, str]] = set()
        self.hidden_given = False  # a live process was handed a hidden case's inputs
        # The limits the run's conditions set that a verdict came from, in the order met
        # (a dict as an ordered set: prefetching threads add to it too).
        self.limits_reached: dict[LimitReached, None] = {}
        self._oom_kills = oom_kills()  # the machine's count as this grading starts
        self.stopped = False  # set by `stop`: no process is started, no call made, any more
        self.files: dict[str, StudentFile] = {}
        self._prefetching: dict[str, threading.Thread] = {}
        self._missing_said: dict[tuple[str, str], str] = {}
        for name, src in sources.items():
            if isinstance(src, Exception):
                f = StudentFile(
                    name, "", Scan(), load_error=Outcome("error", str(src), whole_file=True)
                )
            else:
                f = StudentFile(name, src, scan(src, f"{name}.py") if src is not None else None)
                if src is not None and empty_file(name, src):
                    f.load_error = Outcome("missing", empty_file(name, src), whole_file=True)
            self.files[name] = f
        runnable = [f for f in self.files.values() if f.source and f.load_error is None]
        # Each unit (file, function) that can run keeps its reserve of the budget until its
        # calls have spent that much (`time_left`); its file's imports count in the total only.
        self._reserving = {
            (f.name, func) for f in runnable for func in sorted(self.expected.get(f.name) or {""})
        }
        self.reserve = time_budget * RESERVED_SHARE / max(1, len(self._reserving))
        self.unit_spent: dict[tuple[str, str], float] = dict.fromkeys(self._reserving, 0.0)

    def _unit(self, file: str, func: str) -> tuple[str, str]:
        """The unit of the budget `file.func`'s calls spend: the function where its file's
        functions are known, else the file."""
        return (file, func) if self.expected.get(file) else (file, "")

    def time_left(self, file: str, func: str = "") -> float:
        """Seconds `file.func` may still spend: at least what it has yet to spend of its own
        reserve, else the budget, less what every file spent, less what each other unit has yet
        to spend of its reserve. No function's loops take the time another's first calls need,
        in its file or another, and the total stays within the budget but for the last call of
        each (which runs to its end)."""
        unit = self._unit(file, func)
        others = sum(
            max(0.0, self.reserve - self.unit_spent[u]) for u in self._reserving if u != unit
        )
        shared = self.time_budget - sum(self.spent.values()) - others
        own = self.reserve - self.unit_spent[unit] if unit in self._reserving else 0.0
        return max(own, shared)

    def call(
        self,
        file: str,
        func: str,
        available: dict[str, Any],
        allowed: frozenset,
        public=False,
        *,
        scope: str = "",
    ) -> Outcome:
        """Call `file.func` with the arguments it declares, drawn from `available`.

        `scope`: the item (or report) the call serves, when the function serves several. A
        timeout skips the function's later calls in its own scope only (`call_each`)."""
        return self.call_each(file, func, [available], allowed, public, scope=scope)[0]

    def call_each(
        self,
        file: str,
        func: str,
        availables: Sequence[dict[str, Any]],
        allowed: frozenset[str],
        public: bool | Sequence[bool] = False,
        *,
        scope: str = "",
    ) -> list[Outcome]:
        """`call` once per entry of `availables` (one per case), in order, with the outcomes
        separate calls would have: the process makes the calls one after another without a
        round trip to the grader between them (StudentProcess.call_each), and where a call
        times out or kills the process, what follows is decided afresh, as `call` would.

        `public` (one flag, or one per call) says the student sees the call's answer before
        grades are published: a public case, the training run. Student code can keep what a
        call gives it and write it into a later answer (an error's message), or signal it to
        another file's process (the machine's free memory, process numbers): so once any
        process of the submission was handed a hidden case's inputs, every live process is
        ended before a public call, which then gets a fresh one. Unflagged calls count as
        hidden; the suites ask every public case of the submission before any hidden one
        (runner.public_phase_first), so this is the exception.

        `scope`: the item (or report) the calls serve, when the function serves several: a
        timeout skips the function's later calls in the same scope only (`timed_out`)."""
        flags = [public] * len(availables) if isinstance(public, bool) else list(public)
        if len(flags) != len(availables):
            raise ValueError("one `public` flag per call")
        self._known(file, func)
        outcomes: list[Outcome] = []
        while len(outcomes) < len(availables):
            f = self.files.get(file)
            kind = flags[len(outcomes)]
            if kind:
                self._forget_hidden()
            started = time.monotonic()
            problem = self._before_call(f, file, func, scope)
            self._spend(file, started)  # starting and loading its process: the file's time
            if problem:
                outcomes.append(problem)
                continue
            sig = f.functions[func]
            plans = []
            for available, flag in zip(
                availables[len(outcomes) :], flags[len(outcomes) :], strict=True
            ):
                if flag != kind:  # public and hidden calls never go out together
                    break
                args, positional, refused = plan_call(func, sig, available, allowed)
                if refused:
                    break
                plans.append((args, positional))
            if not plans:
                outcomes.append(refused)
                continue
            if not kind:
                self.hidden_given = True
            started = time.monotonic()
            stop_at = started + self.time_left(file, func)
            try:
                replies = f.process.call_each(file, func, plans, stop_at=stop_at)
            finally:
                self._spend(file, started, func)
            for k, reply in enumerate(replies):  # plans[k] asked for replies[k]
                if reply.kind == "timeout":
                    self.timed_out.add((file, func, scope))
                self._note_limit(reply, f"{file}.{func}", CALL_SECONDS)
                outcome = self._outcome(f, func, reply)
                outcome.arguments = tuple(plans[k][0].values()) if k < len(plans) else ()
                if outcome.status == "error" and reply.kind == "error":
                    plain = self._unreachable(outcome.message)
                    outcome.message = call_failure(
                        func, outcome.message, sig["params"], allowed, plain
                    )
                if outcome.status == "ok" and self.timer is not None:
                    self.timer.add(f"{file}.{func}", reply.elapsed)
                outcomes.append(outcome)
        return outcomes

    def _spend(self, file: str, since: float, func: str | None = None) -> None:
        """Charge `file` the seconds since `since` (its import, or `func`'s calls, which its
        unit of the budget is charged too)."""
        seconds = time.monotonic() - since
        if file in self.spent:
            self.spent[file] += seconds
        unit = self._unit(file, func) if func is not None else None
        if unit in self.unit_spent:
            self.unit_spent[unit] += seconds

    def _known(self, file: str, func: str) -> None:
        """Refuse a file or function the assignment does not declare: a suite's typo, not a
        student's missing code. It fails the suite, and the TA is told (it was "was not
        submitted" or "no function" for every student, a score of 0 with none needing a look).
        Functions are checked only for a file whose `expected` names are given."""
        if file not in self.files:
            raise ContentError(
                f"a suite asked for {file}.py, which is not one of the assignment's files "
                f"({', '.join(self.files)})"
            )
        known = self.expected.get(file)
        if known and func not in known:
            close = difflib.get_close_matches(func, sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            # The name and the fix first: the summary shows the first 160 characters.
            raise ContentError(
                f"a suite asked for {file}.{func}, not one of the assignment's functions{hint} "
                f"(its `functions` for {file}.py: {', '.join(sorted(known))})"
            )

    def _forget_hidden(self) -> None:
        """After hidden inputs were handed out, end every live process: a call then starts a
        fresh one for its file, beside no process that held them."""
        if self.hidden_given:
            for started in self._prefetching.values():  # a load in flight ends first
                started.join()
            for other in self.files.values():
                if other.process is not None and not other.process.dead:
                    other.process.kill()
            self.hidden_given = False

    def _before_call(
        self, f: StudentFile | None, file: str, func: str, scope: str = ""
    ) -> Outcome | None:
        """Why `file.func` cannot be called now, or None (its process is then up and loaded)."""
        if f is None or f.source is None:
            # The file's own absence, the same for every call: a training run says it as it
            # is, not as its first step's failure ("step 1: exercise3.py: not in your upload").
            if self.notebook:
                return Outcome("missing", not_in_notebook(file, self.notebook), whole_file=True)
            return Outcome("missing", left_out(file, self.absent.get(file, "")), whole_file=True)
        if self.stopped:
            return Outcome("error", "grading was stopped before this call")
        if self.time_left(file, func) <= 0:
            self._reached(TIME_BUDGET, f"{file}.{func}")
            return Outcome("timeout", "the submission's total time budget ran out before this call")
        if (file, func, scope) in self.timed_out:
            # One endless loop costs its own time once, not once per case.
            return Outcome("timeout", f"skipped: `{func}` timed out on an earlier case")
        return self._ready(f) or self._declared(f, func)

    def declared(self, file: str, func: str) -> list[str] | None:
        """The names `file.func` needs (declares without a default), or None when it cannot be
        called at all."""
        self._known(file, func)
        f = self.files.get(file)
        started = time.monotonic()
        try:
            if f is None or f.source is None or self._ready(f) or self._declared(f, func):
                return None
        finally:
            self._spend(file, started)
        sig = f.functions[func]
        # A set: the lists are the student process's report, and a lookup in a list of
        # thousands of names for each of thousands more kept the grader busy for minutes.
        defaulted = set(sig.get("defaulted", []))
        return [p for p in sig["params"] if p not in defaulted]

    def prefetch(self) -> None:
        """Start every file's process and import now, in the background: the imports then run
        beside each other and beside pytest's start, not one after another at first use."""
        for f in self.files.values():
            if f.source and not f.load_error and not f.scan.syntax_error:
                t = threading.Thread(target=self._load, args=(f,), daemon=True)
                t.start()
                self._prefetching[f.name] = t

    def _ready(self, f: StudentFile) -> Outcome | None:
        """Load the file into a live student process (again, if the last one died)."""
        started = self._prefetching.pop(f.name, None)
        if started is not None:
            started.join()
        return self._load(f)

    def _load(self, f: StudentFile) -> Outcome | None:
        if f.load_error:
            return f.load_error
        if f.scan.syntax_error:
            return Outcome(
                "error", f"{f.name}.py does not parse: {f.scan.syntax_error}", whole_file=True
            )
        if f.process is not None and not f.process.dead:
            return None
        if self.stopped:
            return Outcome("error", "grading was stopped before this file was loaded")
        if f.process is not None:
            f.output.append(f.process.output())
        f.process = self.zygote.spawn()
        reply = f.process.load(f.name, f.source)
        self._note_limit(reply, f"{f.name}.py", IMPORT_SECONDS)
        if not reply.ok and reply.autograd:
            f.load_error = Outcome(
                "forbidden",
                self._in_cells(
                    f, f"importing {f.name}.py ran into the grader's autograd ban:\n{reply.message}"
                ),
                whole_file=True,
            )
            return f.load_error
        if not reply.ok:
            what = "timed out" if reply.kind == "timeout" else "failed"
            status = "timeout" if reply.kind == "timeout" else "error"
            message = (
                import_failure(f.name, reply.message, plain=self._unreachable(reply.message))
                if status == "error"
                else f"importing {f.name}.py {what}:\n{reply.message}"
            )
            f.load_error = Outcome(status, self._in_cells(f, message), whole_file=True)
            return f.load_error
        f.functions = reply.functions
        return None

    def _note_limit(self, reply: Reply, at: str, timeout: str) -> None:
        """Note a limit the run's conditions set that `reply` (of the call or import `at`)
        came from: its time (`timeout`: CALL_SECONDS or IMPORT_SECONDS), an allocation refused,
        a process the sandbox could not start, or an end without an answer while the OOM
        killer was at work on the machine (it kills a student process first:
        zygote._first_for_the_oom_killer). A student's own `os._exit` at such a moment is
        taken for one too: it is only graded again."""
        if reply.ok:
            return
        if reply.kind == "timeout":
            self._reached(timeout, at)
        elif reply.memory:
            self._reached(MEMORY, at)
        elif reply.unstarted:
            self._reached(PROCESS_START, at)
        elif reply.kind == "crash" and self._oom_killed():
            self._reached(MEMORY_KILLED, at)

    def _oom_killed(self) -> bool:
        """Whether the kernel's OOM killer killed a process since this grading started."""
        now = oom_kills()
        return now is not None and self._oom_kills is not None and now > self._oom_kills

    def _reached(self, limit: str, at: str) -> None:
        if len(self.limits_reached) < MAX_LIMITS_REACHED:
            self.limits_reached.setdefault(LimitReached(limit, at))

    def limits_json(self) -> list[dict[str, str]]:
        """result.json's `limits_reached`: each limit reached, in the order met."""
        return [r.to_json() for r in self.limits_reached]

    def _unreachable(self, traceback_text: str) -> str:
        """Why an import failed, where the student is not to blame: the module is installed,
        in an installation the sandbox could give no way to on this machine (the result's
        isolation notes tell the TA why); "" otherwise."""
        module = missing_module(traceback_text)
        return unreachable(module) if module and self.zygote.withheld_module(module) else ""

    def _declared(self, f: StudentFile, func: str) -> Outcome | None:
        if func not in f.functions:
            return Outcome("missing", self._missing(f, func))
        if self.static_scan and func in f.scan.forbidden:
            return Outcome("forbidden", scanned_out(func, f.scan.forbidden[func]))
        return None

    def _missing(self, f: StudentFile, func: str) -> str:
        """Why `func` is missing, with "did you mean", worked out once per function: asked for
        every case, over 40,000 defined names it cost a red team's submission 22 s of CPU."""
        key = (f.name, func)
        if key not in self._missing_said:
            # difflib's 0.75 cutoff needs lengths within 0.6x-1.67x of each other: a name
            # outside that is never the answer unless it is the name with a word added
            # (`dhprebn_fused`), and a thousand are more than a file has. The functions the
            # process reported come first (a typo is one of them), then the scan's (names
            # starting with `_` and nested ones).
            def fit(n: str) -> bool:
                near = 0.6 * len(func) <= len(n) <= len(func) / 0.6
                return near or with_a_word_added(func, n)

            fits = [n for n in f.functions if fit(n)]
            fits += sorted(n for n in f.scan.functions - set(f.functions) if fit(n))
            near = fits[:MAX_DID_YOU_MEAN]
            expected = self.expected.get(f.name, frozenset())
            where = in_notebook(f.name, self.notebook) if self.notebook else ""
            hid = f.scan.commented.get(func)
            commented = (hid.line, hid.magic) if hid else None
            said = missing_function(func, f.name, set(near), expected, where, commented)
            self._missing_said[key] = said
        return self._missing_said[key]

    def _outcome(self, f: StudentFile, func: str, reply: Reply) -> Outcome:
        if reply.autograd:
            return Outcome("forbidden", autograd_used(func, reply.message))
        if reply.ok:
            return Outcome("ok", value=reply.value)
        status = _STATUS.get(reply.kind, "error")
        if status == "not_implemented":
            return Outcome(status, "not implemented (still raises NotImplementedError)")
        return Outcome(status, self._in_cells(f, reply.message))

    def _in_cells(self, f: StudentFile, text: str) -> str:
        """`text` with `f` named as the notebook's exercise and each frame of its code as the
        notebook's cell, where `f` was read from a notebook: its student never had
        `exercise1.py`, nor its line 207."""
        if not self.notebook or not f.source:
            return text
        text = text.replace(
            f"importing {f.name}.py ", f"importing {in_notebook(f.name, self.notebook)} ", 1
        )
        return notebook_frames(text, f.name, f.source, self.notebook)

    def output(self, file: str) -> str:
        """What a file's code printed, across every process it ran in, cut to one process's
        limit in all: each crash starts a fresh process with a fresh limit, and a file that
        printed to the limit and crashed in every call once filled result.json with 20 MB."""
        f = self.files.get(file)
        if f is None:
            return ""
        parts = f.output + ([f.process.output()] if f.process else [])
        text, limit = "".join(parts), self.zygote.limits.output_bytes
        if len(text) <= limit + 200:  # one process's output, with its own note of what it cut
            return text
        return text[:limit] + f"\n... [{len(text) - limit} more characters of output were cut]"

    def stop(self) -> None:
        """From another thread (Ctrl-C): end every student process, refuse what is still to come.

        A call waiting on a killed process gets its end of the socket closed and returns at once,
        so the pass over the suites finishes in moments; nothing it files is kept.
        """
        self.stopped = True
        for f in list(self.files.values()):
            if f.process is not None:
                f.process.kill()

    def close(self) -> None:
        for t in self._prefetching.values():
            t.join()
        self._prefetching.clear()
        processes = [f.process for f in self.files.values() if f.process is not None]
        for p in processes:  # all told first: they end side by side, then each is made sure of
            p.say_goodbye()
        for p in processes:
            p.close()
