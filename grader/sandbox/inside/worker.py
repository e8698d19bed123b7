"""The student process's side of the wire: load a student's file, call its functions by name.

This code shares a process with student code, so it holds nothing worth stealing: it receives
only the arguments a function is allowed to see, one call at a time, and sends back raw tensor
bytes. Autograd is not watched here but absent (noautograd.py took it out before any student
byte ran); an import or a call that ran into its absence is reported as autograd, which the
grader scores `forbidden`.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib.util
import inspect
import linecache
import os
import sys
import time
import traceback
from collections.abc import Callable

import noautograd
import protocol

# Frames student code may stack, counted from `serve`: Python's default limit, as a student's
# own Python gives it.
STUDENT_FRAMES = 1000


def serve(sock, packages: list[str] | None = None) -> None:
    """Answer the grader's requests until it says exit or goes away. `packages`: what the
    contract promises student code beyond the standard library (None: no such rule)."""
    _room_to_recurse()
    # Each line a student prints leaves at once: stdout is a pipe, block-buffered, and a call
    # killed for its time (an endless loop) took the buffer's lines with it, the very prints
    # that would say where it looped. A line without its end still waits (print(..., end="")).
    with contextlib.suppress(Exception):
        sys.stdout.reconfigure(line_buffering=True)
    modules: dict[str, object] = {}
    if packages is not None:
        builtins.__import__ = _promised_only(builtins.__import__, frozenset(packages))
    sys.breakpointhook = _no_debugger
    channel = protocol.Channel(sock, blocking=True)
    while True:
        try:
            header, blobs = channel.recv()
        except protocol.ProtocolError:
            return
        op = header.get("op")
        if op == "exit":
            return
        if op == "load":
            reply, out = _load(modules, header, blobs), []
        elif op == "call":
            out = []
            reply = _call(modules, header, blobs, out)
        else:
            reply, out = {"ok": False, "kind": "error", "message": f"unknown op {op!r}"}, []
        _flush()
        # The request's id goes back with the answer: the grader takes no answer without it.
        channel.send(dict(reply, id=header.get("id")), out)


def _room_to_recurse() -> None:
    """The recursion limit counted from here, not from the bottom of the stack: a zygote
    nested under another (a batch's `-j 2` as root) serves a few frames deeper than one of its
    own (`-j 1`), and the same recursive code failed a few calls sooner there, its traceback
    saying so: the same class graded with -j 1 and -j 2 gave different results."""
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back
    sys.setrecursionlimit(depth + STUDENT_FRAMES)


def _no_debugger(*args, **kwargs) -> None:
    """breakpoint() with no one at a keyboard: stop as pdb would at the end of its input, but
    without its prompt in the output (the public check does the same; student_text explains)."""
    import bdb

    raise bdb.BdbQuit


def _flush() -> None:
    """Push the student's prints out now (a student may have replaced or closed the streams)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):  # their streams, their problem
            stream.flush()


# The names `_load` gives the student's files (`exercise1.py`), each set before its code runs.
_STUDENT_FILES: set[str] = set()


def _promised_only(real, packages: frozenset[str]):
    """`__import__` that refuses, from the student's own files only (torch's lazy imports pass),
    a module beyond the standard library and `packages`, even one the zygote loaded: torch
    imports tqdm and typing_extensions where they are installed, which put them in
    `sys.modules`, where no import finder (zygote.PromisedImports) is asked. The student's check
    refuses them (check_process._graders_imports), and a machine with torch alone lacks tqdm:
    the same ModuleNotFoundError here, so the grader's verdict is the check's."""
    promised = packages | sys.stdlib_module_names

    def imported(name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002 - __import__'s own
        top = name.partition(".")[0] if type(name) is str else ""
        if level == 0 and top not in promised and _from_student_file(globals):
            raise ModuleNotFoundError(f"No module named '{top}'", name=top)
        return real(name, globals, locals, fromlist, level)

    return imported


def _from_student_file(globals) -> bool:  # noqa: A002 - __import__'s own
    """Whether an import runs in a student's file, by its globals' `__file__` (the check keys on
    the same). Read without running anything of the student's: a globals that is no plain dict,
    or a `__file__` that is no plain str, is not a student file's."""
    if type(globals) is not dict:
        return False
    file = dict.get(globals, "__file__")
    return type(file) is str and file in _STUDENT_FILES


def _load(modules: dict, header: dict, blobs: list) -> dict:
    name, source = header["module"], bytes(blobs[0]).decode("utf-8", "surrogatepass")
    # Run from memory: student processes may not write files (noautograd's audit hook), and
    # tracebacks still show the student's lines through linecache. The bare name, not a path
    # in the sandbox: what a student reads in a traceback or in "it opens the file ..." is
    # then the same here, in the public check and on every run.
    path = f"{name}.py"
    _STUDENT_FILES.add(path)
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    try:
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, None))
        module.__file__ = path
        sys.modules[name] = module
        exec(compile(source, path, "exec"), vars(module))
    except BaseException as e:  # noqa: BLE001 - a student's import may raise anything, even SystemExit
        return _failure(e)
    modules[name] = module
    functions = {}
    # Only names: a key of another type (`globals()[1] = ...`) has no `startswith`, and a str
    # subclass's may be the student's (raised here, it ended the process before it answered).
    for attr, value in list(dict.items(vars(module))):
        if type(attr) is str and callable(value) and not attr.startswith("_"):
            functions[attr] = _signature(value)
    return {"ok": True, "functions": functions}


def _signature(fn) -> dict:
    """Reading a signature runs the student's code (a `__signature__` property, a Signature
    subclass): whatever that raises leaves the signature unreadable, as a builtin's is. Raised
    out of the load, it ended the process before it answered, and every item of a file whose
    functions were right read as a crash (calls.signature_of does the same for the check).
    SystemExit included: it passed an `except Exception` and ended the load all the same."""
    try:
        return _read_signature(fn)
    except BaseException:  # noqa: BLE001 - the student's object raised, whatever it raised
        return {"params": [], "varkw": False, "varargs": False, "unreadable": True}


def _read_signature(fn) -> dict:
    params = list(inspect.signature(fn).parameters.values())
    kinds = inspect.Parameter
    return {
        "params": [
            p.name for p in params if p.kind not in (kinds.VAR_KEYWORD, kinds.VAR_POSITIONAL)
        ],
        "varkw": any(p.kind == kinds.VAR_KEYWORD for p in params),
        "varargs": any(p.kind == kinds.VAR_POSITIONAL for p in params),
        "positional_only": [p.name for p in params if p.kind == kinds.POSITIONAL_ONLY],
        "defaulted": [p.name for p in params if p.default is not p.empty],
    }


def _call(modules: dict, header: dict, blobs: list[bytes], out: list[bytes]) -> dict:
    import torch

    fn = getattr(modules.get(header["module"]), header["func"], None)
    if fn is None:
        return {"ok": False, "kind": "missing", "message": "function not found"}
    try:
        with _no_student_modes():  # one for all the call's inputs: it costs a few µs
            kwargs = {k: _decode(v, blobs) for k, v in header["args"].items()}
        positional = [kwargs.pop(k) for k in header.get("positional", [])]
    except (KeyError, TypeError, protocol.ProtocolError) as e:
        return {
            "ok": False,
            "kind": "error",
            "message": f"the grader sent arguments it cannot: {e}",
        }
    start = time.perf_counter()
    try:
        with torch.no_grad():
            result = fn(*positional, **kwargs)
    except NotImplementedError:
        # The grader words it (session.py): nothing of the student's exception is read, whose
        # __str__ may raise, or make a header past the wire's limit.
        return {"ok": False, "kind": "not_implemented", "message": ""}
    except BaseException as e:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are student errors too
        return _failure(e)
    seconds = time.perf_counter() - start
    used_autograd = _has_graph(result)  # cannot happen with grad mode off for good; cheap to ask
    try:
        encoded = protocol.encode(result, out)
    except BaseException as e:  # noqa: BLE001 - a lying tensor subclass may raise here, even SystemExit
        out.clear()
        return {
            "ok": False,
            "kind": "error",
            "message": f"could not read the result: {_described(e)}",
        }
    return {"ok": True, "result": encoded, "autograd": used_autograd, "seconds": seconds}


def _decode(value: dict, blobs: list[bytes]):
    if "tensor" in value:
        return protocol.decode_tensor(value["tensor"], blobs).clone()
    return value["scalar"]


def _no_student_modes() -> contextlib.ExitStack:
    """torch's Python dispatch and torch-function modes off while the grader makes a call's
    inputs: a mode the student's file entered at import (a TorchDispatchMode's `__enter__`)
    ran its own code in the grader's `clone()`, where the autograd ban's refusal of operator
    look-ups ended the process before it answered, and every call read as a crash."""
    import torch

    stack = contextlib.ExitStack()
    for name in ("_DisableTorchDispatch", "DisableTorchFunction"):
        off = getattr(torch._C, name, None)
        if off is not None:
            stack.enter_context(off())
    return stack


def _has_graph(result) -> bool:
    """Whether a returned tensor hangs on autograd's graph, read through torch's and the
    containers' own accessors. Asked outside the call's `try`: a tensor subclass whose
    `grad_fn` raised, or an object whose `__class__` did, ended the process before it
    answered, and the call read as a crash (os._exit, a segmentation fault...). Whatever
    cannot be asked holds no graph (grad mode is off for good); encoding it says what it is."""
    import torch

    grad_fn = torch.Tensor.grad_fn.__get__  # torch's own: a subclass's property is not asked
    try:
        if isinstance(result, dict):
            values = list(dict.values(result))
        elif isinstance(result, list):
            values = list(list.__iter__(result))
        elif isinstance(result, tuple):
            values = list(tuple.__iter__(result))
        else:
            values = [result]
        return any(isinstance(v, torch.Tensor) and grad_fn(v) is not None for v in values)
    except BaseException:  # noqa: BLE001 - the student's object raised, whatever it raised
        return False


def _failure(e: BaseException) -> dict:
    """An import or call that raised; one that ran into the autograd ban says so, even when
    the refusal was caught and another error raised in its place."""
    refusal = noautograd.refusal_behind(e)
    message = _student_traceback(e, None if refusal is None else str(refusal))
    return {"ok": False, "kind": "error", "message": message, "autograd": refusal is not None}


def _student_traceback(e: BaseException, refusal: str | None = None) -> str:
    """The traceback of the student's own files' frames: the student sees their code only, as
    local_check.student_traceback writes it. Torch's frames (a `.backward()` that ran into the
    autograd ban, an error raised inside `F.cross_entropy`) named the grading machine's paths
    to its packages, `/work/.venv/lib/python3.11/site-packages/torch/_tensor.py`, where the
    student's check showed their lines alone (local_check.bounded_traceback is a copy of this
    module's: the sandbox imports nothing of the grader's). A chain's every exception is
    written so, the cause first (`bounded_chain`), and a `refusal` of the autograd ban that it
    does not show is named after it (`refusal_noted`)."""
    return refusal_noted(exception_chain(e), _read, refusal)


def _read(e: BaseException) -> tuple[list[str], str]:
    """An exception's frames in the student's files, and its words (`bounded_chain`)."""
    return _student_frames(e), "".join(_exception_lines(e))


def _student_frames(e: BaseException) -> list[str]:
    frames = [f for f in traceback.extract_tb(_TRACEBACK(e)) if f.filename in _STUDENT_FILES]
    return traceback.format_list(frames)


# A traceback as a report keeps it: at most TRACEBACK_CHARS, the exception's own words at most
# EXCEPTION_CHARS of them (their start, which names the type, and the end of their last line),
# frames past the rest dropped from the oldest. Its last TRACEBACK_CHARS alone kept neither
# the heading, nor a frame, nor the type where the words ran long (`assert ok, (dx, x)`, whose
# two (32, 27) tensors print in 26,000 characters: the report showed a tensor's tail alone).
# A chain (`raise ValueError(...) from e`, an error raised while handling another) is shown
# as Python shows it, the cause first, within the same bound: the latest is cut as it is
# alone, or to half the bound where it would take more, and the exceptions before it share
# the rest, the nearest first (the oldest are dropped, a mark says so); a halved latest then
# takes back what they leave. The latest exception alone was shown: the student lost the
# cause.
TRACEBACK_CHARS = 4000
EXCEPTION_CHARS = 2000
CHAIN_BLOCK_CHARS = 400
CAUSE_SENTENCE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT_SENTENCE = "\nDuring handling of the above exception, another exception occurred:\n\n"
CHAIN_CUT = "  [... earlier exceptions of the chain cut ...]\n"
# An exception's frames and words, as `bounded_chain` asks them.
Reader = Callable[[BaseException], tuple[list[str], str]]


def bounded_traceback(frames: list[str], words: str, limit: int = TRACEBACK_CHARS) -> str:
    """The heading, the latest frames that fit whole (else the latest one's end), and the
    exception's words, cut, in at most `limit` characters (at least CHAIN_BLOCK_CHARS)."""
    most = min(EXCEPTION_CHARS, limit // 2)
    if len(words) > most:
        end = words.rstrip("\n").rpartition("\n")[2][-(most // 4) :] + "\n"
        start = most - len(end) - 60  # room for the mark
        words = f"{words[:start]} [... {len(words) - start - len(end)} characters cut ...]\n{end}"
    heading = "Traceback (most recent call last):\n"
    room = limit - len(heading) - len(words)
    kept = len(frames)
    while kept and len(frames[kept - 1]) <= room:  # whole frames, the latest first
        kept -= 1
        room -= len(frames[kept])
    latest = frames[kept - 1][-room:] if kept == len(frames) and frames and room else ""
    return heading + latest + "".join(frames[kept:]) + words


def bounded_chain(
    chain: list[tuple[BaseException, str]], read: Reader, limit: int = TRACEBACK_CHARS
) -> str:
    """A chain's tracebacks, the cause first, in at most `limit` characters. `chain`: each
    exception with the sentence that led from the one before it, the latest first
    (`exception_chain`); `read` gives an exception's frames and words, asked only of those
    given room (the latest always, cut as it would be alone or less; some 30 at most before
    it). All 50 the chain holds were read before the cut, each one's words reading all the
    exceptions behind it: a chain of 10,000 cost seconds."""
    frames, words = read(chain[0][0])
    latest = bounded_traceback(frames, words, limit)
    halved = len(chain) > 1 and len(latest) > limit // 2
    if halved:  # the causes get half at least; the latest, what they leave of the rest
        latest = bounded_traceback(frames, words, limit // 2)
    room, blocks = limit - len(latest), []
    for (older, _), (_, sentence) in zip(chain[1:], chain[:-1], strict=True):
        most = room - len(sentence) - len(CHAIN_CUT)
        if most < CHAIN_BLOCK_CHARS:
            break
        blocks.append(bounded_traceback(*read(older), most) + sentence)
        room -= len(blocks[-1])
    if blocks and len(blocks) < len(chain) - 1:  # the oldest shown was caused by another
        blocks[-1] = blocks[-1].replace("\n", "\n" + CHAIN_CUT, 1)
    if halved:
        latest = bounded_traceback(frames, words, limit - sum(map(len, blocks)))
    return "".join(reversed(blocks)) + latest


def refusal_noted(chain: list[tuple[BaseException, str]], read: Reader, refusal: str | None) -> str:
    """The chain's tracebacks and, where they do not show it, the autograd ban's refusal that
    the student's code caught and replaced (`except RuntimeError: raise ValueError(...) from
    None`, or cut with the oldest of a long chain), after them: all in TRACEBACK_CHARS. The
    refusal was added past the bound, and again where the chain already showed it."""
    trace = bounded_chain(chain, read)
    if refusal is None or refusal in trace:
        return trace
    note = f"\n(while handling: {refusal[:CHAIN_BLOCK_CHARS]})"
    return bounded_chain(chain, read, TRACEBACK_CHARS - len(note)) + note


def exception_chain(e: BaseException) -> list[tuple[BaseException, str]]:
    """`e` and the exceptions it was raised from or while handling, the latest first, each with
    the sentence Python writes between it and the one before it ("" for the oldest). Read as
    the interpreter keeps them, not through a student class's properties; a cycle ends it."""
    chain, seen = [], set()
    while e is not None and id(e) not in seen and len(chain) < 50:
        seen.add(id(e))
        cause, context = _CAUSE(e), _CONTEXT(e)
        if cause is not None:
            chain.append((e, CAUSE_SENTENCE))
            e = cause
        elif context is not None and not _SUPPRESS_CONTEXT(e):
            chain.append((e, CONTEXT_SENTENCE))
            e = context
        else:
            chain.append((e, ""))
            e = None
    return chain


_TRACEBACK = BaseException.__dict__["__traceback__"].__get__
_CAUSE = BaseException.__dict__["__cause__"].__get__
_CONTEXT = BaseException.__dict__["__context__"].__get__
_SUPPRESS_CONTEXT = BaseException.__dict__["__suppress_context__"].__get__
_QUALNAME = type.__dict__["__qualname__"].__get__


def _described(e: BaseException) -> str:
    """`repr(e)`, or its type's name where the student's `__repr__` raises: raised out of the
    call's reply, it ended the process unanswered (local_check.described writes the same)."""
    try:
        return repr(e)
    except BaseException:  # noqa: BLE001 - the student's exception raised, whatever it raised
        return f"{_QUALNAME(type(e))} (its message could not be read)"


def _exception_lines(e: BaseException) -> list[str]:
    """`Type: message`; only the type's name where reading the message or its notes runs a
    property of the student's that raises (it ended the process unanswered). SystemExit and
    KeyboardInterrupt included: a `__str__` or `__notes__` that raised them
    passed an `except Exception` and ended the process all the same (no Ctrl-C reaches a
    student process, which has a session of its own)."""
    try:
        return _exception_only(e)
    except BaseException:  # noqa: BLE001 - the student's exception raised, whatever it raised
        return [f"{_QUALNAME(type(e))} (its message could not be read)\n"]


# Whether this Python's TracebackException takes `_seen` (3.10 to 3.14 do).
_ALONE = "_seen" in inspect.signature(traceback.TracebackException).parameters


def _exception_only(e: BaseException) -> list[str]:
    """format_exception_only's lines, reading `e` alone. That function first builds a
    TracebackException of every exception `e` was raised from or while handling, each one's
    frames looked up, which it never shows: the words of each exception of a chain of 10,000
    (a student's loop) read the rest of it. `_seen`, the standard library's own mark of an
    exception read within a chain, keeps the reading to `e`, and the chain it did not read is
    set empty (3.13's format_exception_only asks for the group's exceptions). A Python
    without `_seen` reads as format_exception_only does."""
    if not _ALONE:
        return traceback.format_exception_only(type(e), e)
    alone = traceback.TracebackException(type(e), e, None, compact=True, _seen=set())
    alone.__cause__ = alone.__context__ = alone.exceptions = None
    return list(alone.format_exception_only())


if __name__ == "__main__":  # pragma: no cover - started by zygote.py
    import socket

    serve(socket.socket(fileno=int(os.environ.get("NINJA_FD", "3"))))
