"""Student code run in-process under the grader's conditions: the public check's session.

A student bundle's check.py judges the student's files with the grader's own judging code; what
differs is how functions are called: here in-process, with no sandbox, but under the grader's
conditions: each file run from memory under its bare name in an empty working folder, no stdin,
`breakpoint()`, `torch.compile` and TorchScript switched off (the grader's sandbox has none of
them), no file written, prints captured and cut to the grader's size, each import and call
stopped at the grader's time limit, the grader's static scan applied before anything runs, and
autograd caught. So a file that reads names.txt, asks for input() or stops in a debugger fails
here as it would in the grader, with the same message. `LocalSession` answers a suite's calls
as the grader's Session does; every assignment's check uses it. It ships to students: torch and
the standard library only.
"""

from __future__ import annotations

import ast
import atexit
import bdb
import builtins
import contextlib
import io
import linecache
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .calls import plan_call, signature_of
from .choosing import exercise_files, note_missing
from .records import Outcome
from .staticscan import Scan, scan
from .student_text import (
    AUTOGRAD_OFF,
    COMPILE_REFUSED,
    PROCESS_ENDED,
    SCRIPT_REFUSED,
    WRITE_REFUSED,
    autograd_used,
    call_failure,
    empty_file,
    grader_has,
    import_failure,
    left_out,
    missing_function,
    scanned_out,
    undecodable,
)
from .uploads import Budget, UploadLimits, scan_folder

# The grader's limits (sandbox Limits): seconds per import and per call, bytes of prints kept.
IMPORT_SECONDS = 20.0
CALL_SECONDS = 10.0
OUTPUT_BYTES = 16_000
# Tensors cross the grader's wire only in these dtypes (bfloat16 travels as float32).
WIRE_DTYPES = {"float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"}


@dataclass
class NotATensor:
    """A returned value that is not a tensor: only its type name counts (as in the grader)."""

    type_name: str


# A returned tensor whose values cannot be read (a meta or nested one), as the grader's
# sandbox names it (its protocol.UNREADABLE).
UNREADABLE = "tensor whose values cannot be read"


def as_the_grader_sees(value: Any, depth: int = 0) -> Any:
    """A returned value as the grader receives it from its sandbox: (tensor, dtype) pairs,
    None, one level of dict or list, and a NotATensor for anything else."""
    if isinstance(value, torch.Tensor):
        try:
            t = _plain(value)
        except MemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever the tensor (or a lying subclass) raises
            return NotATensor(f"{UNREADABLE} ({type(e).__name__})")
        name = str(t.dtype).removeprefix("torch.")
        if t.dtype == torch.bfloat16:
            return (t.float().clone(), name)
        if name not in WIRE_DTYPES:
            return NotATensor(f"tensor of dtype {name}")
        return (t.clone(), name)
    if value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return NotATensor(type(value).__name__)
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


def _has_graph(value: Any) -> bool:
    """A result still attached to autograd's graph (the grader's worker checks the same, the
    same way): read through torch's and the containers' own accessors, so a subclass cannot
    hide a graph, and one whose `grad_fn` (or an object whose `__class__`) raises is judged as
    the grader judges it, where it ended the check in a traceback."""
    grad_fn = torch.Tensor.grad_fn.__get__  # torch's own: a subclass's property is not asked
    try:
        if isinstance(value, dict):
            values = list(dict.values(value))
        elif isinstance(value, list):
            values = list(list.__iter__(value))
        elif isinstance(value, tuple):
            values = list(tuple.__iter__(value))
        else:
            values = [value]
        return any(isinstance(v, torch.Tensor) and grad_fn(v) is not None for v in values)
    except BaseException:  # noqa: BLE001 - the student's object raised: reading it says so next
        return False


def _no_debugger(*args, **kwargs):
    raise bdb.BdbQuit


def _no_compiler(*args, **kwargs):
    """torch.compile as the grader has it: its compiler cannot run in the grader's sandbox."""
    raise RuntimeError(f"{COMPILE_REFUSED}: remove it and call the function itself")


def _no_script(*args, **kwargs):
    """torch.jit.script and trace as the grader has them: TorchScript is off in its sandbox."""
    raise RuntimeError(f"{SCRIPT_REFUSED}: remove it and call the function itself")


class ProcessEnded(BaseException):
    """os._exit in student code: the grader's process for it ends, and the grader says so
    (PROCESS_ENDED); here it would end check.py, which printed nothing and exited 0."""

    # The calls so far: the grader's process ends at the call, whatever follows it, so a call
    # the student's `except BaseException` caught is that item's error all the same (check.py
    # passed it, the grader did not).
    calls = 0


def _ending_process(*args, **kwargs):
    ProcessEnded.calls += 1
    raise ProcessEnded


class AutogradForbidden(RuntimeError):
    """What the grader's sandbox raises where student code switches autograd back on, under
    the sandbox's own name for it (its noautograd.AutogradForbidden): the table then quotes the
    grader's last line."""

    __module__ = "noautograd"


def _grad_switch(switch: Any, what: str) -> Any:
    """torch's grad-mode switch as the grader's sandbox has it: grad mode is off there for good,
    so switching it on (`torch.set_grad_enabled(True)`, `with torch.enable_grad():`) is refused,
    and switching it off changes nothing. The check passed both, the grader forbade the file or
    the function. Refused in the thread running student code only."""

    def refusing_on(mode: bool = False, *args: Any, **kwargs: Any) -> Any:
        if mode and threading.get_ident() in _REFUSING:
            raise AutogradForbidden(f"{what}(True): {AUTOGRAD_OFF}")
        return switch(mode, *args, **kwargs)

    return refusing_on


class _NoInferenceMode:
    """What `torch.inference_mode()` enters in the grader's sandbox: nothing (its stand-in for
    torch._C._InferenceMode), so the tensors made inside are plain tensors there. Entered for
    real, it made them inference tensors here, and an in-place update of one after the block
    raised: check.py gave ERROR where the grader passed."""

    def __enter__(self) -> _NoInferenceMode:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _inference_switch(mode_class: Any) -> Any:
    """torch._C._InferenceMode as the grader's sandbox has it, for student code:
    `inference_mode(False)` would switch grad mode back on, so it is refused;
    `inference_mode()` changes nothing (`_NoInferenceMode`)."""

    def inference_mode(mode: bool = True) -> Any:
        if threading.get_ident() not in _REFUSING:
            return mode_class(mode)
        if not mode:
            raise AutogradForbidden(f"inference_mode(False): {AUTOGRAD_OFF}")
        return _NoInferenceMode()

    return inference_mode


def refusal_behind(error: BaseException) -> AutogradForbidden | None:
    """The refusal that `error` is, or was raised while handling, read as the grader's worker
    reads it (a refusal caught and replaced by another error is still the autograd ban)."""
    seen = 0
    while error is not None and seen < 50:
        if issubclass(type(error), AutogradForbidden):
            return error
        cause = _CAUSE(error)
        error, seen = (cause if cause is not None else _CONTEXT(error)), seen + 1
    return None


def banned_traceback(e: BaseException, path: Path) -> str:
    """The traceback of an import or call that ran into the autograd ban, as the grader's
    worker writes it: the refusal that was caught and replaced is named after it."""
    refusal, trace = refusal_behind(e), student_traceback(e, path)
    return trace if refusal is e else f"{trace}\n(while handling: {refusal})"


def _graders_torch() -> list[tuple[Any, str, Any]]:
    """(owner, name, what the grader's sandbox has there) for torch's functions that differ,
    and os._exit, which there ends the student's process, not the grader's."""
    return [
        (torch, "compile", _no_compiler),
        (torch, "save", _saving_no_file(torch.save)),
        (torch.jit, "script", _no_script),
        (torch.jit, "trace", _no_script),
        *(
            (torch._C, name, _grad_switch(getattr(torch._C, name), f"torch._C.{name}"))
            for name in ("_set_grad_enabled", "_set_fwd_grad_enabled")
        ),
        (torch._C, "_InferenceMode", _inference_switch(torch._C._InferenceMode)),
        *_graders_lazy_properties(),
        (os, "_exit", _ending_process),
        (sys.modules[os.name], "_exit", _ending_process),  # posix._exit (nt's on Windows)
        *_graders_signals(),
        *_graders_threads(),
    ]


def _graders_lazy_properties() -> list[tuple[Any, str, Any]]:
    """torch.distributions' lazy parameters as the grader's sandbox computes them (its
    student_torch): without switching grad mode on. torch computes them (`probs` of a
    `Categorical(logits=...)`, read by `log_prob` too) under `torch.enable_grad()`, which the
    grad switch refuses to student code: check.py called a right `dlogits` built on
    `Categorical(logits=logits).probs` forbidden, and the grader passed it."""
    from torch.distributions import utils

    lazy = getattr(utils, "lazy_property", None)
    original = getattr(lazy, "__get__", None)
    if original is None:
        return []

    def __get__(self: Any, instance: Any, obj_type: Any = None) -> Any:
        if instance is None or threading.get_ident() not in _REFUSING:
            return original(self, instance, obj_type)
        value = self.wrapped(instance)  # grad mode is off already, as in the grader
        setattr(instance, self.wrapped.__name__, value)
        return value

    return [(lazy, "__get__", __get__)]


def _saving_no_file(save):
    """torch.save as the grader has it: into a file object, not to a named file (it opens one
    from C++, past the audit hook of _no_changes)."""

    def refusing_files(obj, f, *args, **kwargs):
        if isinstance(f, str | bytes | os.PathLike):
            raise PermissionError(f"{WRITE_REFUSED} ({os.fsdecode(f)!r})")
        return save(obj, f, *args, **kwargs)

    return refusing_files


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


# What the grader's sandbox refuses student code that touches files or starts programs, by the
# names of Python's audit events (inside/noautograd.py refuses these and more, in these words).
_CHANGES = frozenset(
    {"os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.chmod", "os.chown", "os.utime",
     "os.truncate", "os.symlink", "os.link", "os.system", "os.exec", "os.posix_spawn", "os.fork"}
)  # fmt: skip
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_REFUSING: set[int] = set()  # the threads running student code under the grader's conditions
_guarded: list[bool] = []


def _refuse_changes(event: str, args: tuple) -> None:
    """The grader's refusals, for the thread running student code only: a Jupyter kernel's own
    threads, and everything after the check, write as before."""
    if threading.get_ident() not in _REFUSING:
        return
    if event in _CHANGES:
        raise PermissionError(f"{event} is not allowed in the grader")
    if event == "open" and _opens_for_writing(args):
        raise PermissionError(f"{WRITE_REFUSED} ({args[0]!r})")


def _opens_for_writing(args: tuple) -> bool:
    path, mode, flags = (tuple(args) + (None, None, None))[:3]
    if isinstance(path, int):
        return False  # a descriptor already open
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITES)


@contextlib.contextmanager
def _no_changes():
    """Refuse, in this thread, what the grader's sandbox refuses: writing a file, making or
    removing one, starting a program. An audit hook cannot be removed: it is added once, and
    stays idle outside this block."""
    if not _guarded:
        sys.addaudithook(_refuse_changes)
        _guarded.append(True)
    me = threading.get_ident()
    _REFUSING.add(me)
    try:
        yield
    finally:
        _REFUSING.discard(me)


# Ctrl-C and SIGTERM stop the check: each is noted, then raised as KeyboardInterrupt.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_STOPPED: list[int] = []  # the signals that came while the check ran, first first
_CLEANING: list[bool] = []  # set while the folder is removed: a signal then is noted, not raised


@contextlib.contextmanager
def work_folder(prefix: str) -> Iterator[Path]:
    """The check's empty working folder (one folder a file inside it), removed however the
    check ends. Ctrl-C and SIGTERM raise KeyboardInterrupt through the check, student code
    included (`stop_if_asked`), so the folder is removed on the way out; after SIGTERM the
    check then exits with 143, as a shell reports it. SIGTERM ended it at once, leaving the
    folder in the temporary directory; Ctrl-C during student code was that code's error."""
    with _stopping():
        folder = None
        try:
            folder = tempfile.mkdtemp(prefix=prefix)
            yield Path(folder)
        finally:
            _CLEANING.append(True)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


def _stop(signum: int, frame: object) -> None:
    """The check's handler of Ctrl-C and SIGTERM (`_stopping`)."""
    _STOPPED.append(signum)
    if len(_STOPPED) == 1 and not _CLEANING:  # once, and never cutting the clean-up short
        raise KeyboardInterrupt


@contextlib.contextmanager
def _stopping() -> Iterator[None]:
    """Ctrl-C and SIGTERM noted and raised as KeyboardInterrupt while the check runs; the
    handlers before put back after (a Jupyter kernel's own). After SIGTERM, SystemExit(143)
    goes on up: a caller's own clean-up runs too (the notebook's folder), where sending the
    signal again would end the process before it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # no signal handler but in the main thread: the signals do as they did
        return

    _STOPPED.clear()
    _CLEANING.clear()
    previous = {sig: signal.signal(sig, _stop) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stopped, _STOPPED[:], _CLEANING[:] = list(_STOPPED), [], []
        if signal.SIGTERM in stopped:
            raise SystemExit(128 + signal.SIGTERM)


def stop_if_asked() -> None:
    """Raise KeyboardInterrupt if Ctrl-C or SIGTERM came while student code ran: it may have
    caught the one raised in it (`except BaseException`), or taken it for its own error."""
    if _STOPPED:
        raise KeyboardInterrupt


class OutOfTime(BaseException):
    """Raised in the student's code when its time is up: not an Exception, so that the
    student's own `except Exception` does not swallow it."""


def _expire(signum: int, frame: object) -> None:
    """The check's handler of its timer (`time_limit`)."""
    raise OutOfTime


@contextlib.contextmanager
def time_limit(seconds: float):
    """Stop the student's code after `seconds`, as the grader does: an endless loop hung
    check.py for good, with nothing printed. Only where a timer signal reaches it (the main
    thread on Linux and macOS, Colab's kernel included); elsewhere there is no limit."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    _BACKSTOP.arm(seconds + BACKSTOP_SECONDS)
    try:
        yield
    finally:
        try:
            _BACKSTOP.disarm()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


# Seconds past a time limit after which the backstop stops student code the timer did not.
BACKSTOP_SECONDS = 2.0


class _Backstop:
    """A thread that raises OutOfTime in the thread running student code when the timer's
    signal has not stopped it BACKSTOP_SECONDS after its limit. Student code can ignore, block
    or cancel that signal (`signal.signal(signal.SIGALRM, signal.SIG_IGN)`, `signal.setitimer(
    signal.ITIMER_REAL, 0)`, `signal.pthread_sigmask`), which does nothing in the grader, whose
    deadline is outside the student's process: an endless loop after it hung check.py for good.
    Started once, before student code runs (it may start no thread); where Python cannot raise
    in another thread (not CPython), it does nothing."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._armed: tuple[float, int] | None = None  # (monotonic deadline, thread id)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="check-backstop", daemon=True)
            self._thread.start()

    def arm(self, seconds: float) -> None:
        with self._ready:
            self._armed = (time.monotonic() + seconds, threading.get_ident())
            self._ready.notify()

    def disarm(self) -> None:
        with self._ready:
            self._armed = None

    def _watch(self) -> None:
        with self._ready:
            while True:
                if self._armed is None:
                    self._ready.wait()
                    continue
                deadline, thread = self._armed
                if time.monotonic() < deadline:
                    self._ready.wait(deadline - time.monotonic())
                    continue
                self._armed = None
                _raise_in(thread, OutOfTime)


def _raise_in(thread: int, error: type[BaseException]) -> None:
    """`error` raised in `thread` at its next Python instruction (CPython's async exception)."""
    try:
        import ctypes

        set_async = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except (ImportError, AttributeError):
        return
    set_async(ctypes.c_ulong(thread), ctypes.py_object(error))


_BACKSTOP = _Backstop()


def no_answer(seconds: float) -> str:
    return f"no answer within {seconds:g} s (an endless loop?)"


# A signal student code sends its own process lands here as in the grader's process for it:
# there SIGINT and SIGTERM are blocked (they wait, and change nothing), a handler of the
# student's own runs, and any other signal does what it does by default: ends the process
# (SIGKILL, SIGABRT, SIGUSR1 ...), stops it until the time limit (SIGSTOP), or nothing (SIGCHLD).
# Sent for real, it reached check.py: SIGKILL and os.abort() ended it without its table, SIGTERM
# and SIGINT stopped it as a Ctrl-C does; and a signal to another process (os.kill(0, ...) is
# check.py's whole process group, the student's shell job) was sent, where the grader refuses it.
_BLOCKED_THERE = frozenset({signal.SIGINT, signal.SIGTERM})
_NOTHING_BY_DEFAULT = frozenset(
    getattr(signal, n) for n in ("SIGCHLD", "SIGURG", "SIGWINCH", "SIGCONT") if hasattr(signal, n)
)
_STOPPING_BY_DEFAULT = frozenset(
    getattr(signal, n) for n in ("SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU") if hasattr(signal, n)
)
_OWN_HANDLERS = (_stop, _expire)  # the check's: the grader's process has the defaults there


def _to_itself(sig: Any, send: Any) -> Any:
    """What `sig`, sent by student code to its own process, does in the grader's: `send()`
    sends it for real where it does the same here (a probe, an invalid number, a handler of the
    student's own)."""
    try:
        handler = signal.getsignal(sig)
    except (TypeError, ValueError):  # 0 (a probe) or no signal: the real call, as there
        return send()
    if sig in _BLOCKED_THERE or handler is signal.SIG_IGN:
        return None
    if callable(handler) and handler not in _OWN_HANDLERS:
        return send()
    if sig in _NOTHING_BY_DEFAULT:
        return None
    if sig in _STOPPING_BY_DEFAULT:
        raise OutOfTime  # stopped there, until the grader's time limit
    return _ending_process()


def _signalling(kill: Any, event: str) -> Any:
    """os.kill or os.killpg as the grader's process has them: to itself (its id, or 0 for its
    own group: it is alone in its session there) the signal does what it does there; to any
    other process it is refused, in the grader's words."""

    def signal_only_itself(pid: int, sig: int) -> Any:
        if threading.get_ident() not in _REFUSING:
            return kill(pid, sig)
        if pid not in (0, os.getpid()):
            raise PermissionError(f"{event}: a student process may signal only itself")
        return _to_itself(sig, lambda: kill(pid, sig))

    return signal_only_itself


def _raising(raise_signal: Any) -> Any:
    """signal.raise_signal as the grader's process has it (`_to_itself`)."""

    def raise_in_itself(sig: int) -> Any:
        if threading.get_ident() not in _REFUSING:
            return raise_signal(sig)
        return _to_itself(sig, lambda: raise_signal(sig))

    return raise_in_itself


def _thread_signalling(pthread_kill: Any) -> Any:
    """signal.pthread_kill as the grader's process has it: its only thread is the one that
    runs student code (`_to_itself`)."""

    def signal_a_thread(thread_id: int, sig: int) -> Any:
        if threading.get_ident() not in _REFUSING:
            return pthread_kill(thread_id, sig)
        return _to_itself(sig, lambda: pthread_kill(thread_id, sig))

    return signal_a_thread


def _aborting(abort: Any) -> Any:
    """os.abort as the grader's process has it: the process ends (`ProcessEnded`)."""

    def abort_it() -> Any:
        return _ending_process() if threading.get_ident() in _REFUSING else abort()

    return abort_it


# What starting a thread raises in the grader's process for student code, which may start none
# (RLIMIT_NPROC 0): a file that started one at import passed the check and failed to import.
THREAD_REFUSED = "can't start new thread"


def _no_thread(start: Any) -> Any:
    """A thread starter (`_thread.start_new_thread`, what threading.Thread.start calls) as the
    grader's process has it: refused to student code, as there."""

    def refusing(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() in _REFUSING:
            raise RuntimeError(THREAD_REFUSED)
        return start(*args, **kwargs)

    return refusing


def _graders_threads() -> list[tuple[Any, str, Any]]:
    """(owner, name, refusing starter) for every way Python starts a thread (names vary with
    the Python version: start_joinable_thread from 3.13)."""
    import _thread

    names = ("start_new_thread", "start_new", "start_joinable_thread")
    patched = [(_thread, n, _no_thread(getattr(_thread, n))) for n in names if hasattr(_thread, n)]
    for n in ("_start_new_thread", "_start_joinable_thread"):  # threading's own copies
        if hasattr(threading, n):
            patched.append((threading, n, _no_thread(getattr(threading, n))))
    return patched


def _graders_signals() -> list[tuple[Any, str, Any]]:
    """(owner, name, what the grader's process has there) for the ways to signal a process,
    os's and posix's (os.kill is posix.kill; a file may import either)."""
    posix = sys.modules[os.name]
    patched = [(signal, "raise_signal", _raising(signal.raise_signal))]
    if hasattr(signal, "pthread_kill"):
        patched.append((signal, "pthread_kill", _thread_signalling(signal.pthread_kill)))
    for owner in (os, posix):
        patched.append((owner, "abort", _aborting(os.abort)))
        for name in ("kill", "killpg"):
            if hasattr(os, name):
                patched.append((owner, name, _signalling(getattr(os, name), f"os.{name}")))
    return patched


class CappedOutput(io.StringIO):
    """What the student's code prints, cut as the grader cuts it: the first OUTPUT_BYTES bytes
    kept, the rest counted (a print in a loop once sent 40 MB to the student's terminal, or
    into their notebook)."""

    def __init__(self) -> None:
        super().__init__()
        self.kept = 0
        self.dropped = 0
        self.shut = False

    def close(self) -> None:
        """Closed by student code (`sys.stdout.close()`): later prints fail, as on the grader's
        closed stdout, and what was printed stays (StringIO.close threw it away, and check.py
        ended in a traceback where the grader passed every function)."""
        self.shut = True

    @property
    def closed(self) -> bool:
        return self.shut

    def write(self, s: str) -> int:
        if self.shut:
            raise ValueError("I/O operation on closed file.")
        data = s.encode("utf-8", "surrogatepass")
        room = max(OUTPUT_BYTES - self.kept, 0)
        if room:
            super().write(data[:room].decode("utf-8", "ignore"))
            self.kept += min(room, len(data))
        self.dropped += max(len(data) - room, 0)
        return len(s)

    def getvalue(self) -> str:
        text = super().getvalue()
        if self.dropped:
            text += f"\n... [{self.dropped} more bytes of output were cut]"
        return text


# The check runs in the student's own Python, which may hold much more than the grader promises
# (matplotlib, from the lecture's first cell; einops or scipy in Colab): an import of it passed
# here and cost the whole file in the grader. Any such import from a student's file now fails
# here as it would there (student_text.grader_has: the standard library, torch and numpy).
def _graders_imports(real: Any, student_files: set[str]) -> Any:
    """`__import__` that refuses, from the student's files only (torch's own lazy imports pass),
    what the grader may lack, with the ModuleNotFoundError the grader's process raises."""

    def imported(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002 - __import__'s own
        if level == 0 and (globals or {}).get("__file__") in student_files and not grader_has(name):
            top = name.partition(".")[0]
            raise ModuleNotFoundError(f"No module named '{top}'", name=top)
        return real(name, globals, locals, fromlist, level)

    return imported


def _graders_exit(real: Any, student_files: set[str]) -> Any:
    """`atexit.register` as the grader's process has it for the student's files: it ends with
    os._exit, so their exit functions never run. check.py ran them after its table, outside the
    grader's conditions (a print after the table; an `os.kill(os.getpid(), 9)` that took the
    table with it). Registrations from anything else (a module the student imports) stand."""

    def register(func: Any, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_globals.get("__file__")
        if threading.get_ident() in _REFUSING and caller in student_files:
            return func
        return real(func, *args, **kwargs)

    return register


@contextlib.contextmanager
def graders_conditions(
    folder: Path,
    printed: io.StringIO,
    sources: Path | None = None,
    files: tuple[str, ...] = (),
    away: tuple[Path, ...] = (),
):
    """Run inside `folder`, with no stdin, no debugger, torch as the grader's sandbox has it
    (_graders_torch), no file written, prints captured and none of the student's other files
    importable (`sources`: the folder they came from; `files`: the assignment's module names;
    `away`: the bundle's own folder, which holds the stubs); restore after (check.main() may
    run in a Jupyter kernel, which must get its own back)."""
    saved = os.getcwd(), sys.stdin, sys.breakpointhook, sys.path[:]
    _BACKSTOP.start()  # before student code, which may start no thread
    mask = _signal_mask()
    patched = [(owner, name, getattr(owner, name)) for owner, name, _ in _graders_torch()]
    hidden = _hide_other_files(folder, sources, files, away)
    os.chdir(folder)
    sys.stdin, sys.breakpointhook = io.StringIO(""), _no_debugger
    for owner, name, theirs in _graders_torch():
        setattr(owner, name, theirs)
    real_import, real_register = builtins.__import__, atexit.register
    student_files = {f"{name}.py" for name in files}
    builtins.__import__ = _graders_imports(real_import, student_files)
    atexit.register = _graders_exit(real_register, student_files)
    try:
        with (
            contextlib.redirect_stdout(printed),
            contextlib.redirect_stderr(printed),
            _no_changes(),
        ):
            yield
    finally:
        builtins.__import__, atexit.register = real_import, real_register
        _signal_mask(mask)  # student code may have blocked the timer's signal (pthread_sigmask)
        os.chdir(saved[0])
        sys.stdin, sys.breakpointhook = saved[1], saved[2]
        for owner, name, original in patched:
            setattr(owner, name, original)
        sys.path[:] = saved[3]
        sys.modules.update(hidden)


def _signal_mask(mask: Any = None) -> Any:
    """This thread's blocked signals, set to `mask` when given; None where there is no mask."""
    if not hasattr(signal, "pthread_sigmask"):
        return None
    if mask is None:
        return signal.pthread_sigmask(signal.SIG_BLOCK, [])
    return signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _hide_other_files(
    folder: Path, sources: Path | None, files: tuple[str, ...], away: tuple[Path, ...]
) -> dict[str, Any]:
    """Take away what the grader's process lacks: the folders the student's files sit in (the
    checked one, and the bundle's, which `python check.py` puts first on sys.path and which
    holds the stubs) and an exercise module imported earlier. `from exercise2 import dlogits`
    in exercise3.py then fails here as in the grader, not import the student's or the stub's.
    Returns the modules taken out of sys.modules, to put back."""
    gone = {*(p.resolve() for p in away), *([sources.resolve()] if sources is not None else [])}
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in gone]
    here = folder.resolve()
    return {
        name: sys.modules.pop(name)
        for name in files
        if name in sys.modules
        and Path(getattr(sys.modules[name], "__file__", None) or "/").resolve().parent != here
    }


def student_traceback(e: BaseException, path: Path) -> str:
    """The traceback with the check's own frames cut out, as the grader shows it."""
    frames = [f for f in traceback.extract_tb(_TRACEBACK(e)) if f.filename == str(path)]
    lines = traceback.format_list(frames) + _exception_lines(e)
    return ("Traceback (most recent call last):\n" + "".join(lines))[-4000:]


# Read as the interpreter keeps them, not through a student class's own properties.
_TRACEBACK = BaseException.__dict__["__traceback__"].__get__
_CAUSE = BaseException.__dict__["__cause__"].__get__
_CONTEXT = BaseException.__dict__["__context__"].__get__
_QUALNAME = type.__dict__["__qualname__"].__get__


def described(e: BaseException) -> str:
    """`repr(e)`, or its type's name where the student's `__repr__` raises (the sandbox's
    worker writes the same)."""
    try:
        return repr(e)
    except BaseException:  # noqa: BLE001 - the student's exception raised, whatever it raised
        return f"{_QUALNAME(type(e))} (its message could not be read)"


def _exception_lines(e: BaseException) -> list[str]:
    """`Type: message`, as the grader's worker writes it: only the type's name where reading
    the message or the cause runs a property of the student's that raises (it ended the check
    in a traceback). SystemExit and KeyboardInterrupt included: a `__cause__` or `__notes__`
    that raised them ended the check in Python's fatal error, where the grader, reading the
    same, could not answer either."""
    try:
        return traceback.format_exception_only(type(e), e)
    except BaseException:  # noqa: BLE001 - the student's exception raised, whatever it raised
        return [f"{_QUALNAME(type(e))} (its message could not be read)\n"]


@dataclass
class LocalFile:
    name: str
    path: Path  # the name it runs under, from memory
    home: Path  # its empty folder, the working folder of its import and calls
    module: Any = None
    functions: dict[str, dict] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)
    scan: Scan = field(default_factory=Scan)  # the grader's reading of the file, before it runs
    load_error: Outcome | None = None
    printed: CappedOutput = field(default_factory=CappedOutput)


class LocalSession:
    """The grader's Session, in-process: the same messages for the same files and calls.

    `files`: the assignment's module names (exercise1, ...); `expected`: the function names the
    checks will ask each for ("did you mean"); `away`: the bundle's own folder (see
    graders_conditions)."""

    def __init__(
        self,
        folder: Path,
        workdir: Path,
        files: tuple[str, ...],
        expected: dict[str, frozenset[str]],
        away: tuple[Path, ...] = (),
    ) -> None:
        self.files: dict[str, LocalFile | None] = {}
        self.sources = folder
        self.names, self.expected, self.away = files, expected, away
        # One endless loop costs its time once in each scope (Session.timed_out).
        self.timed_out: set[tuple[str, str, str]] = set()
        sources, self.notes, self.absent = exercise_sources(folder, files)
        for name in files:
            source = sources.get(name)
            self.files[name] = self._load(name, source, workdir) if source is not None else None

    def _load(self, name: str, data: bytes, workdir: Path) -> LocalFile:
        home = workdir / name
        home.mkdir()
        f = LocalFile(name, Path(f"{name}.py"), home)
        problem = undecodable(name, data)
        text = "" if problem else data.decode("utf-8-sig")
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
        # (a dataclass in it looks itself up there), then the caller's own again.
        module = types.ModuleType(name)
        module.__file__ = str(f.path)
        namespace = vars(module)
        before = sys.modules.get(name)
        sys.modules[name] = module
        ended = ProcessEnded.calls
        # Grad mode off, as in the grader's process: entered outside the conditions, whose
        # grad switch refuses the check's own switching back on.
        with torch.no_grad(), self._conditions(home, f.printed):
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

    def _conditions(self, home: Path, printed: io.StringIO):
        return graders_conditions(home, printed, self.sources, self.names, self.away)

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
        if f is None:
            return Outcome("missing", left_out(file, self.absent.get(file, "")))
        if (file, func, scope) in self.timed_out:
            return Outcome("timeout", f"skipped: `{func}` timed out on an earlier case")
        problem = self._declared(f, func)
        if problem:
            return problem
        args, positional, refused = plan_call(func, f.functions[func], available, allowed)
        if refused:
            return refused
        args = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in args.items()}
        first = [args.pop(k) for k in positional]
        return self._run(f, func, first, args, allowed, scope)

    def _run(
        self, f: LocalFile, func: str, first: list, args: dict, allowed, scope: str = ""
    ) -> Outcome:
        """One call under the grader's conditions, judged as the grader's session judges it."""
        fn, tripwire, ended = f.module[func], AutogradTripwire(), ProcessEnded.calls
        # no_grad outside the conditions: their grad switch refuses its switching back on.
        with torch.no_grad(), self._conditions(f.home, f.printed), tripwire:
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
        if tripwire.fired or _has_graph(value):  # autograd is the verdict, whatever followed
            return Outcome("forbidden", autograd_used(func))
        if failure:
            return failure
        with torch.no_grad(), self._conditions(f.home, f.printed):
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
            return Outcome(
                "missing",
                missing_function(func, f.name, defined, self.expected.get(f.name, frozenset())),
            )
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


def checked_folder(folder: str | Path | None, default: Path, holds: str) -> Path | None:
    """The folder a check reads: FOLDER, the folder of a file given instead (`check.py
    exercise1.py`), or `default`; None, with the reason printed, when it is no folder."""
    where = Path(folder) if folder is not None else default
    if where.is_file() and where.suffix.casefold() == ".ipynb":
        # Its folder's .py files (the untouched stubs, beside the bundle's notebook) were
        # checked instead, a table of `todo` for a notebook full of work.
        print(
            f"{where} is a notebook: check.py checks .py files ({holds}), not notebooks. A "
            "notebook is checked by its own check cells: open it in Jupyter or Colab and run "
            "all its cells"
        )
        return None
    if where.is_file():
        where = where.parent
    if not where.is_dir():
        print(f"{where} is not a folder: give the folder that holds your {holds}")
        return None
    return where


def exercise_sources(
    folder: Path, files: tuple[str, ...]
) -> tuple[dict[str, bytes], list[str], dict[str, str]]:
    """Each exercise's file in `folder`, chosen by the grader's own rule (`choosing`): its exact
    name before a browser's variant (`exercise1 (1).py`), a shallower file before a deeper one,
    a zip inside opened for what is not found outside it, and two different candidates never
    guessed between; the notes are the grader's notes on what it took and what it left out,
    and the last dict why each exercise left out was (its items say so, as the grader's)."""
    budget = Budget(UploadLimits())
    with contextlib.ExitStack() as stack:
        top = scan_folder(folder, (), budget)
        found, contents, absent = exercise_files(top, files, budget, stack)
        note_missing(top, files, found, contents, absent, budget)
    sources = {f: data for f, data in contents.items() if data is not None}
    return sources, [*budget.notes, *(f"{f}.py: {why}" for f, why in absent.items())], absent
