"""Student code run in-process under the grader's conditions: the public check's session.

A student bundle's check.py judges the student's files with the grader's own judging code; what
differs is how functions are called: here in-process, with no sandbox, but under the grader's
conditions: each file run from memory under its bare name in an empty working folder, the
grader's static scan applied before anything runs, each import and call stopped at the
grader's time limit, its answer read as it crosses the grader's wire, and autograd caught. The
process itself is made like the grader's for student code by `check_process` (no stdin, no
debugger, no compiler, no file written, no thread, signals, os._exit, prints captured and cut).
So a file that reads names.txt, asks for input() or stops in a debugger fails here as it would
in the grader, with the same message. `LocalSession` answers a suite's calls as the grader's
Session does; every assignment's check uses it. It ships to students: torch and the standard
library only.
"""

from __future__ import annotations

import ast
import contextlib
import linecache
import shutil
import sys
import tempfile
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .calls import plan_call
from .check_process import (
    AutogradForbidden,
    CappedOutput,
    OutOfTime,
    ProcessEnded,
    TorchChanges,
    cleaning_up,
    forget_torch,
    graders_conditions,
    stop_if_asked,
    stopping,
    time_limit,
)
from .choosing import OWN_LIST, exercise_files, find_notebooks, note_missing, relative
from .notebook_json import unreadable
from .records import Outcome
from .sandbox.inside.graphs import holds_graph
from .sandbox.inside.signatures import signature_of
from .sandbox.inside.tracebacks import cause_of, context_of, described
from .sandbox.inside.tracebacks import student_traceback as traceback_in_files
from .staticscan import Scan, scan
from .student_text import (
    PROCESS_ENDED,
    autograd_used,
    call_failure,
    empty_file,
    import_failure,
    in_notebook,
    left_out,
    missing_function,
    not_in_notebook,
    notebook_frames,
    path_problem,
    scanned_out,
    swapped_files,
    terminal_text,
    undecodable,
)
from .uploads import (
    Budget,
    Entry,
    UploadError,
    UploadLimits,
    open_zip_file,
    read_capped,
    scan_folder,
    scan_zip,
    single_top,
    upload_tree,
)

# The grader's limits (sandbox Limits): seconds per import and per call (its bytes of prints
# kept: check_process.OUTPUT_BYTES).
IMPORT_SECONDS = 20.0
CALL_SECONDS = 10.0
# Tensors cross the grader's wire only in these dtypes (bfloat16 travels as float32).
WIRE_DTYPES = {"float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"}
# The most entries of a returned list or dict the grader builds (its sandbox's MAX_ENTRIES);
# a longer one is named with its length, as the grader names it.
MAX_ENTRIES = 256


@dataclass
class NotATensor:
    """A returned value that is not a tensor: only its type name counts (as in the grader)."""

    type_name: str


# A returned tensor whose values cannot be read (a meta or nested one), as the grader's
# sandbox names it (its protocol.UNREADABLE).
UNREADABLE = "tensor whose values cannot be read"


def as_the_grader_sees(value: Any, depth: int = 0) -> Any:
    """A returned value as the grader receives it from its sandbox: (tensor, dtype) pairs,
    None, one level of dict or list, and a NotATensor for anything else. The sandbox sends a
    tensor's values, so its copy is contiguous: a transpose's strides kept here made the next
    function's `.view` raise in the check's chain where the grader's went on."""
    if isinstance(value, torch.Tensor):
        try:
            t = _plain(value)
        except MemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the tensor (or a lying subclass) raises
            return NotATensor(f"{UNREADABLE} ({type(e).__name__})")
        name = str(t.dtype).removeprefix("torch.")
        if t.dtype == torch.bfloat16:
            return (t.float().clone(memory_format=torch.contiguous_format), name)
        if name not in WIRE_DTYPES:
            return NotATensor(f"tensor of dtype {name}")
        return (t.clone(memory_format=torch.contiguous_format), name)
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return NotATensor(type(value).__name__)
    if depth == 0 and isinstance(value, (dict, list, tuple)) and len(value) > MAX_ENTRIES:
        noun = "dict" if isinstance(value, dict) else "list or tuple"
        return NotATensor(f"{noun} of {len(value)} entries")
    if depth == 0 and isinstance(value, dict):
        return {str(k): as_the_grader_sees(v, 1) for k, v in value.items()}
    if depth == 0 and isinstance(value, (list, tuple)):
        return [as_the_grader_sees(v, 1) for v in value]
    return NotATensor(type(value).__name__)


def _plain(value: torch.Tensor) -> torch.Tensor:
    """Its values as an ordinary dense CPU tensor, as the sandbox sends them: a sparse dC is
    judged on its values (it crashed the check with a traceback)."""
    if value.layout != torch.strided:  # asked before as_subclass, which needs a strided tensor
        value = value.to_dense()
    t = torch.Tensor.as_subclass(value, torch.Tensor).detach().cpu()
    t = t.resolve_conj().resolve_neg()
    t.shape  # noqa: B018 - as the sandbox asks it: a nested tensor has no shape and raises here
    return t


def refusal_behind(error: BaseException) -> AutogradForbidden | None:
    """The refusal that `error` is, or was raised while handling, read as the grader's worker
    reads it (a refusal caught and replaced by another error is still the autograd ban)."""
    seen = 0
    while error is not None and seen < 50:
        if issubclass(type(error), AutogradForbidden):
            return error
        cause = cause_of(error)
        error, seen = (cause if cause is not None else context_of(error)), seen + 1
    return None


def banned_traceback(e: BaseException, path: Path) -> str:
    """The traceback of an import or call that ran into the autograd ban, as the grader's
    worker writes it: the refusal that was caught and replaced is named after it where the
    traceback does not show it."""
    refusal = refusal_behind(e)
    return student_traceback(e, path, None if refusal is None else str(refusal))


class AutogradTripwire:
    """Notes a call of autograd's entry points during one call (the grader forbids them; its
    sandbox has a stricter net, and its scan reads the source too)."""

    ENTRY_POINTS = (
        (torch.Tensor, "backward"),
        (torch.autograd, "backward"),
        (torch.autograd, "grad"),
        *((torch.func, name) for name in ("grad", "grad_and_value", "vjp", "jvp", "jacrev")),
        *((torch.autograd.functional, name) for name in ("jacobian", "vjp", "jvp")),
    )

    def __init__(self) -> None:
        self.fired = False
        self._saved: list[tuple[object, str, object]] = []

    def __enter__(self) -> AutogradTripwire:
        for owner, name in self.ENTRY_POINTS:
            original = getattr(owner, name, None)
            if original is not None:
                self._saved.append((owner, name, original))
                setattr(owner, name, self._tripped(original))
        return self

    def _tripped(self, original):
        def tripped(*args, **kwargs):
            self.fired = True
            return original(*args, **kwargs)

        return tripped

    def __exit__(self, *exc) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()


@contextlib.contextmanager
def work_folder(prefix: str) -> Iterator[Path]:
    """The check's empty working folder (one folder a file inside it), removed however the
    check ends. Ctrl-C and SIGTERM raise KeyboardInterrupt through the check, student code
    included (`stop_if_asked`), so the folder is removed on the way out; after SIGTERM the
    check then exits with 143, as a shell reports it. SIGTERM ended it at once, leaving the
    folder in the temporary directory; Ctrl-C during student code was that code's error."""
    with stopping():
        folder = None
        try:
            folder = tempfile.mkdtemp(prefix=prefix)
            yield Path(folder)
        finally:
            cleaning_up()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


def no_answer(seconds: float) -> str:
    return f"no answer within {seconds:g} s (an endless loop?)"


def student_traceback(e: BaseException, path: Path, refusal: str | None = None) -> str:
    """The traceback with the check's own frames cut out, as the grader's worker writes it
    (the same module, tracebacks.py): a chain's every exception, the cause first, and a
    `refusal` of the autograd ban it does not show."""
    return traceback_in_files(e, str(path).__eq__, refusal)


@dataclass
class LocalFile:
    name: str
    path: Path  # the name it runs under, from memory
    home: Path  # its empty folder, the working folder of its import and calls
    module: Any = None
    source: str = ""  # its text, as run
    functions: dict[str, dict] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)
    scan: Scan = field(default_factory=Scan)  # the grader's reading of the file, before it runs
    load_error: Outcome | None = None
    printed: CappedOutput = field(default_factory=CappedOutput)
    # What its code changed in torch, met by its code only, as in its own process in the grader.
    torch_changes: TorchChanges = field(default_factory=TorchChanges)


class LocalSession:
    """The grader's Session, in-process: the same messages for the same files and calls.

    `files`: the assignment's module names (exercise1, ...); `expected`: the function names the
    checks will ask each for ("did you mean"); `away`: the bundle's own folder (see
    graders_conditions); `notebook`: the notebook `folder`'s files were read from, if they
    were (public_check writes them): messages then name its exercises and cells, as the
    grader's Session names them, and the folder, the check's own, draws no note; `beside`:
    the grader's notes on the notebooks of the upload whose files are judged, put among the
    notes where the grader puts them (UploadRead.in_graders_order)."""

    def __init__(
        self,
        folder: Path,
        workdir: Path,
        files: tuple[str, ...],
        expected: dict[str, frozenset[str]],
        away: tuple[Path, ...] = (),
        notebook: str = "",
        beside: Sequence[str] = (),
    ) -> None:
        self.files: dict[str, LocalFile | None] = {}
        self.notebook = notebook
        self.sources = folder if folder.is_dir() else folder.parent  # a zip's folder, hidden
        self.names, self.expected, self.away = files, expected, away
        # One endless loop costs its time once in each scope (Session.timed_out).
        self.timed_out: set[tuple[str, str, str]] = set()
        forget_torch()  # torch as it is now is the check's
        upload = read_upload(folder, files, own=bundle_own(folder))
        sources, self.absent = upload.sources, upload.absent
        swapped = swapped_files(_texts(sources), expected)  # as the grader adds it
        # A folder of the check's own (`notebook`): its notes would name files never submitted.
        self.notes = swapped if notebook else upload.in_graders_order(beside, swapped)
        for name in files:
            source = sources.get(name)
            self.files[name] = self._load(name, source, workdir) if source is not None else None

    def _load(self, name: str, data: bytes, workdir: Path) -> LocalFile:
        home = workdir / name
        home.mkdir()
        f = LocalFile(name, Path(f"{name}.py"), home)
        problem = undecodable(name, data)
        text = "" if problem else data.decode("utf-8-sig")
        f.source = text
        # Run from memory under its bare name, as the grader's student process does: code that
        # reads itself (`Path(__file__)`) fails here as there, in the same words, and
        # tracebacks still show the student's lines through linecache (one entry a name: a
        # Jupyter kernel that checks again replaces it).
        linecache.cache[str(f.path)] = (len(text), None, text.splitlines(True), str(f.path))
        if problem or empty_file(name, text):
            status = "error" if problem else "missing"
            f.load_error = Outcome(status, problem or empty_file(name, text), whole_file=True)
            return f
        f.scan = scan(text, f"{name}.py")
        if f.scan.syntax_error:
            f.load_error = Outcome(
                "error", f"{name}.py does not parse: {f.scan.syntax_error}", whole_file=True
            )
            return f
        tree = ast.parse(text, filename=f"{name}.py")
        f.defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        # A module named like the grader's (exercise1), in sys.modules while it is imported
        # (a dataclass in it looks itself up there), then the caller's own again. Put there
        # inside the conditions, which take out an exercise module found before (the caller's
        # is put back as they end): put there before them, it was taken out with those, and
        # every function of a file holding a dataclass was ERROR where the grader passed it.
        module = types.ModuleType(name)
        module.__file__ = str(f.path)
        namespace = vars(module)
        ended = ProcessEnded.calls
        # Grad mode off, as in the grader's process: entered outside the conditions, whose
        # grad switch refuses the check's own switching back on.
        with torch.no_grad(), self._conditions(f):
            before = sys.modules.get(name)
            sys.modules[name] = module
            try:
                with time_limit(IMPORT_SECONDS):
                    exec(compile(text, str(f.path), "exec"), namespace)  # noqa: S102 - the student's own file
            except OutOfTime:
                message = f"importing {name}.py timed out:\n{no_answer(IMPORT_SECONDS)}"
                f.load_error = Outcome("timeout", message, whole_file=True)
            except ProcessEnded:
                message = import_failure(name, PROCESS_ENDED)
                f.load_error = Outcome("error", message, whole_file=True)
            except BaseException as e:  # noqa: BLE001 - even exit() is reported, not obeyed
                f.load_error = self._import_failure(name, e, f.path)
            finally:
                if before is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = before
        if ProcessEnded.calls != ended:  # the grader's process ended there
            f.load_error = Outcome("error", import_failure(name, PROCESS_ENDED), whole_file=True)
        stop_if_asked()  # a Ctrl-C during the import is not the file's error
        if f.load_error:
            f.load_error.message = self._in_cells(f, f.load_error.message)
            return f
        f.module = namespace
        # Only names: a key of another type (`globals()[1] = ...`) has no `startswith`, and a
        # str subclass's may be the student's (it ended the check in a traceback).
        f.functions = {
            k: signature_of(v)
            for k, v in dict.items(namespace)
            if type(k) is str and callable(v) and not k.startswith("_") and k != "__builtins__"
        }
        return f

    @staticmethod
    def _import_failure(name: str, e: BaseException, path: Path) -> Outcome:
        """An import that raised, as the grader's session words it: one that ran into the
        autograd ban (`torch.set_grad_enabled(True)` at the top) is `forbidden`."""
        if refusal_behind(e) is not None:
            message = f"importing {name}.py ran into the grader's autograd ban:\n"
            return Outcome("forbidden", message + banned_traceback(e, path), whole_file=True)
        return Outcome("error", import_failure(name, student_traceback(e, path)), whole_file=True)

    def _in_cells(self, f: LocalFile, text: str) -> str:
        """`text` with `f` named as the notebook's exercise and each frame of its code as the
        notebook's cell, where `f` was read from a notebook, as the grader's Session names
        them: its student never had `exercise1.py`, nor its line 207."""
        if not self.notebook or not f.source:
            return text
        text = text.replace(
            f"importing {f.name}.py ", f"importing {in_notebook(f.name, self.notebook)} ", 1
        )
        return notebook_frames(text, f.name, f.source, self.notebook)

    def _conditions(self, f: LocalFile):
        """The grader's process for `f`: its folder, its prints, its changes to torch."""
        return graders_conditions(
            f.home, f.printed, self.sources, self.names, self.away, f.torch_changes
        )

    def call_each(
        self, file: str, func: str, availables, allowed: frozenset[str], public=False, *, scope=""
    ) -> list:
        """One `call` per case, as the grader's session answers them (every case here is public)."""
        return [self.call(file, func, a, allowed, scope=scope) for a in availables]

    def call(
        self,
        file: str,
        func: str,
        available: dict,
        allowed: frozenset[str],
        public=False,
        *,
        scope: str = "",
    ) -> Outcome:
        """As the grader's Session.call, `scope` included: a timeout skips the function's
        later calls in its own scope only."""
        f = self.files.get(file)
        if f is None:  # the file's own absence, as the grader's Session.call says it
            if self.notebook:
                return Outcome("missing", not_in_notebook(file, self.notebook), whole_file=True)
            return Outcome("missing", left_out(file, self.absent.get(file, "")), whole_file=True)
        if (file, func, scope) in self.timed_out:
            return Outcome("timeout", f"skipped: `{func}` timed out on an earlier case")
        problem = self._declared(f, func)
        if problem:
            return problem
        args, positional, refused = plan_call(func, f.functions[func], available, allowed)
        if refused:
            return refused
        given = tuple(args.values())  # the case's own, which the student's code never holds
        args = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in args.items()}
        first = [args.pop(k) for k in positional]
        outcome = self._run(f, func, first, args, allowed, scope)
        if outcome.status not in ("ok", "forbidden", "not_implemented"):
            outcome.message = self._in_cells(f, outcome.message)
        outcome.arguments = given
        return outcome

    def _run(
        self, f: LocalFile, func: str, first: list, args: dict, allowed, scope: str = ""
    ) -> Outcome:
        """One call under the grader's conditions, judged as the grader's session judges it."""
        fn, tripwire, ended = f.module[func], AutogradTripwire(), ProcessEnded.calls
        # no_grad outside the conditions: their grad switch refuses its switching back on.
        with torch.no_grad(), self._conditions(f), tripwire:
            try:
                with time_limit(CALL_SECONDS):
                    value, failure = fn(*first, **args), None
            except OutOfTime:
                self.timed_out.add((f.name, func, scope))
                value, failure = None, Outcome("timeout", no_answer(CALL_SECONDS))
            except ProcessEnded:
                value, failure = None, Outcome("error", PROCESS_ENDED)
            except NotImplementedError:
                value, failure = (
                    None,
                    Outcome(
                        "not_implemented", "not implemented (still raises NotImplementedError)"
                    ),
                )
            except BaseException as e:  # noqa: BLE001 - SystemExit is the student's error too
                value, failure = None, self._call_failure(f, func, e, allowed)
        if ProcessEnded.calls != ended:  # the grader's process ended there
            value, failure = None, Outcome("error", PROCESS_ENDED)
        stop_if_asked()  # a Ctrl-C during the call is not the function's error
        if tripwire.fired or holds_graph(value):  # autograd is the verdict, whatever followed
            return Outcome("forbidden", autograd_used(func))
        if failure:
            return failure
        with torch.no_grad(), self._conditions(f):
            try:
                # Under a time limit too: the grader's deadline covers the reading of the answer
                # (a list whose __iter__ never ends timed out there and hung the check for good).
                with time_limit(CALL_SECONDS):
                    return Outcome("ok", value=as_the_grader_sees(value))
            except OutOfTime:
                self.timed_out.add((f.name, func, scope))
                return Outcome("timeout", no_answer(CALL_SECONDS))
            except ProcessEnded:  # os._exit in a subclass's reading: the grader's process ends
                return Outcome("error", PROCESS_ENDED)
            except BaseException as e:  # noqa: BLE001 - SystemExit too, as in the sandbox
                stop_if_asked()  # a Ctrl-C while reading is not the function's error
                return Outcome("error", f"could not read the result: {described(e)}")

    @staticmethod
    def _call_failure(f: LocalFile, func: str, e: BaseException, allowed) -> Outcome:
        """A call that raised, as the grader's session words it: one that ran into the autograd
        ban (`with torch.enable_grad():`) is `forbidden`, with the refusal's words."""
        if refusal_behind(e) is not None:
            return Outcome("forbidden", autograd_used(func, banned_traceback(e, f.path)))
        trace = student_traceback(e, f.path)
        return Outcome("error", call_failure(func, trace, f.functions[func]["params"], allowed))

    def _declared(self, f: LocalFile, func: str) -> Outcome | None:
        if f.load_error:
            return f.load_error
        if func not in f.functions:
            defined = set(f.functions) | f.defined
            where = in_notebook(f.name, self.notebook) if self.notebook else ""
            hid = f.scan.commented.get(func)
            expected = self.expected.get(f.name, frozenset())
            commented = (hid.line, hid.magic) if hid else None
            said = missing_function(func, f.name, defined, expected, where, commented)
            return Outcome("missing", said)
        if func in f.scan.forbidden:  # the grader refuses it before any call: so does the check
            return Outcome("forbidden", scanned_out(func, f.scan.forbidden[func]))
        return None

    def declared(self, file: str, func: str) -> list[str] | None:
        """As the grader's Session.declared: the names `file.func` needs (a defaulted one keeps
        its default, so the chain goes on without it, as in the grader)."""
        f = self.files.get(file)
        if f is None or self._declared(f, func):
            return None
        sig = f.functions[func]
        defaulted = set(sig.get("defaulted", []))
        return [p for p in sig["params"] if p not in defaulted]

    def output(self) -> dict[str, str]:
        return {
            n: f.printed.getvalue() for n, f in self.files.items() if f and f.printed.getvalue()
        }


def _texts(sources: dict[str, bytes]) -> dict[str, str]:
    """Each file's text, as the grader decodes it; one that is not UTF-8 is left out."""
    texts = {}
    for name, data in sources.items():
        with contextlib.suppress(UnicodeDecodeError):
            texts[name] = data.decode("utf-8-sig")
    return texts


def checked_folder(folder: str | Path | None, default: Path, holds: str) -> Path | None:
    """The path a check reads: FOLDER, the folder of an exercise file given instead (`check.py
    exercise1.py`), a zip or a notebook given as it is, or `default`; None, with the reason and
    what to give instead printed, when it cannot be checked (student_text.path_problem)."""
    where = Path(folder) if folder is not None else default
    give = f"give the folder that holds your {holds}, the zip you will upload or your notebook"
    # A name with spaces typed unquoted reaches check.py as its first word only.
    unquoted = " (a name with spaces needs quotes)"
    problem = path_problem(where, give, unquoted)
    if not problem and where.is_file() and where.suffix.casefold() == ".py":
        where = where.parent  # readable as a file, its folder may not be listable
        problem = path_problem(where, give, unquoted)
    if problem:
        # The path as a terminal may print it: a name is the student's own text.
        print(terminal_text(problem))
        return None
    return where


def bundle_own(folder: Path) -> frozenset[str]:
    """The names of the student bundle's own files (choosing.OWN_LIST) when `folder` is the
    bundle's folder, whose package holds this module; none elsewhere (a student's own folder,
    a zip, the grader's tree): check.py run there listed README.md, check.py and the package's
    thirty modules as what the folder held, the student's own files cut off after them."""
    here = Path(__file__).resolve().parent
    listed = here / OWN_LIST
    try:
        if not folder.is_dir() or folder.resolve() != here.parent or not listed.is_file():
            return frozenset()
        return frozenset(listed.read_text(encoding="utf-8").split()) - {""}
    except (OSError, UnicodeDecodeError):
        return frozenset()


def exercise_sources(
    folder: Path, files: tuple[str, ...], own: frozenset[str] = frozenset()
) -> tuple[dict[str, bytes], list[str], dict[str, str]]:
    """Each exercise's file in `folder`, chosen by the grader's own rule (`choosing`): its exact
    name before a browser's variant (`exercise1 (1).py`), a shallower file before a deeper one,
    a zip inside opened for what is not found outside it, and two different candidates never
    guessed between; the notes are the grader's notes on what it took and what it left out,
    and the last dict why each exercise left out was (its items say so, as the grader's)."""
    upload = read_upload(folder, files, own=own)
    return upload.sources, upload.in_graders_order(), upload.absent


@dataclass
class UploadRead:
    """A folder or zip read as the grader reads one upload (`exercise_sources`), and its
    notebooks (where each sits, how deep, its bytes) when asked for."""

    sources: dict[str, bytes]
    notes: list[str]  # what finding the files said, then what is missing (note_missing)
    absent: dict[str, str]
    notebooks: list[tuple[str, int, bytes | None]] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # the grader's words on each it cannot read
    places: list[str] = field(default_factory=list)  # every notebook's place, read or not
    # How many of `notes` come before the grader's notes on the upload's notebooks: those on
    # finding the files (submissions.read_tree settles the notebook after them, before saying
    # what is missing).
    notebook_at: int = 0
    # The grader's notes made while reading the notebooks, on the upload's byte budget (`the
    # upload holds hw.ipynb 2 times, all identical: read once`): check.py left them out.
    reading: list[str] = field(default_factory=list)

    def in_graders_order(
        self, notebook: Sequence[str] = (), swapped: Sequence[str] = ()
    ) -> list[str]:
        """The notes as `grader check` prints them: what finding the files said, the notes on
        the notebooks (`notebook`: notebook_instead.notebook_notes), what is missing, a swap of
        two files (`swapped`, which grading adds: pipeline.student_record) and why each exercise
        left out was (check._with_files_left_out). check.py said the notebook's last, below
        what was missing, where the grader said it above."""
        at = self.notebook_at
        left = [f"{f}.py: {why}" for f, why in self.absent.items()]
        return [*self.notes[:at], *notebook, *self.notes[at:], *swapped, *left]


def read_upload(
    folder: Path, files: tuple[str, ...], notebook_bytes: int = 0, own: frozenset[str] = frozenset()
) -> UploadRead:
    """`folder` (or a zip) as the grader reads one upload; with `notebook_bytes`, its notebooks
    too (choosing.find_notebooks, each of at most that many bytes): a notebook in a zip was
    never looked for, and the grader's note on one left out beside .py files never said."""
    budget = Budget(UploadLimits())
    with contextlib.ExitStack() as stack:
        if folder.is_dir():
            top = scan_folder(folder, (), budget)
        else:
            try:
                top = _zip_tree(folder, budget, stack)
            except (UploadError, OSError, ValueError, EOFError) as e:  # as the grader says it
                return UploadRead({}, [f"{folder.name}: {e}"], {})
            except Exception as e:  # noqa: BLE001 - zipfile's own errors: a note, never a crash
                return UploadRead({}, [f"{folder.name} is not a readable zip: {e}"], {})
        found, contents, absent = exercise_files(top, files, budget, stack)
        at = len(budget.notes)
        note_missing(top, files, found, contents, absent, budget, own)
        notes = list(budget.notes)
        found = _notebooks(top, notebook_bytes, budget) if notebook_bytes else ([], [], [])
        notebooks, unread, places = found
        reading = budget.notes[len(notes) :]
    sources = {f: data for f, data in contents.items() if data is not None}
    return UploadRead(sources, notes, absent, notebooks, unread, places, at, reading)


def _notebooks(
    top: Entry, most: int, budget: Budget
) -> tuple[list[tuple[str, int, bytes | None]], list[str], list[str]]:
    """The upload's notebooks the grader reads, with where each sits and how deep, and its
    bytes: None for one over `most` bytes, which the grader refuses as too large (it and an
    empty one were left out, unsaid); the grader's words on each that cannot be read (one
    encrypted in its zip was left out unsaid, where the grader names it); and where each of
    them sits, in the grader's order (its note on several names them all)."""
    read, unread = [], []
    found = find_notebooks(top)
    for e in found:
        try:
            data = read_capped(e, most, budget) if e.size <= most else None
        except (UploadError, OSError) as err:
            unread.append(unreadable(relative(top, e), err))
            continue
        too_large = data is None or len(data) > most
        read.append((relative(top, e), e.depth - top.depth, None if too_large else data))
    return read, unread, [relative(top, e) for e in found]


def _zip_tree(path: Path, budget: Budget, stack: contextlib.ExitStack) -> Entry:
    """The listed tree of a zip given as the upload itself (`check.py hw.zip`), read as the
    grader reads one upload (uploads.upload_tree: a zip of one folder is that folder). The
    zip's folder was checked instead: the untouched stubs beside it, `todo` on every row, where
    the grader, given the zip, graded what it held."""
    real = path.resolve()
    tree = Entry(path.stem, "", "dir")
    scan_zip(open_zip_file(real.parent, (real.name,), stack), path.name, tree, budget)
    return upload_tree(tree, single_top(tree), budget)
