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
import linecache
import os
import re
import sys
import time

import graphs
import noautograd
import protocol
import signatures
import tracebacks

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
            functions[attr] = signatures.signature_of(value)
    return {"ok": True, "functions": functions}


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
    # Cannot happen with grad mode off for good; cheap to ask. Asked outside the call's `try`
    # and never raising: a result that raised here ended the process before it answered.
    used_autograd = graphs.holds_graph(result)
    try:
        encoded = protocol.encode(result, out)
    except BaseException as e:  # noqa: BLE001 - a lying tensor subclass may raise here, even SystemExit
        out.clear()
        return {
            "ok": False,
            "kind": "error",
            "message": f"could not read the result: {tracebacks.described(e)}",
            "memory": out_of_memory(e),
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


def _failure(e: BaseException) -> dict:
    """An import or call that raised; one that ran into the autograd ban says so, even when
    the refusal was caught and another error raised in its place."""
    refusal = noautograd.refusal_behind(e)
    message = _student_traceback(e, None if refusal is None else str(refusal))
    return {
        "ok": False,
        "kind": "error",
        "message": message,
        "autograd": refusal is not None,
        "memory": out_of_memory(e),
    }


# torch's refusal when the allocator finds no memory: a RuntimeError of its own words
# (c10's alloc_cpu.cpp), not a MemoryError, under this process's address-space limit.
_TORCH_NO_MEMORY = re.compile(r"DefaultCPUAllocator: (can't allocate|not enough) memory")
_CHAIN = 32  # links of an exception's causes and contexts looked at


def out_of_memory(e: BaseException) -> bool:
    """Whether `e`, or an exception it was raised from or while handling, is an allocation
    refused for memory: Python's MemoryError or torch's allocator's RuntimeError. The limit is
    this process's share of what the container had left (memory.py), which depends on how many
    processes grade at once: the grader regrades such a result on its next run instead of
    keeping it (result.json's `limits_reached`). Read through BaseException's own slots and
    exact types, so nothing of the student's runs here; a student's own `raise MemoryError`
    counts too, and costs only that student's regrading."""
    seen: set[int] = set()
    link: object = e
    while isinstance(link, BaseException) and id(link) not in seen and len(seen) < _CHAIN:
        seen.add(id(link))
        kind = type(link)
        if issubclass(kind, MemoryError):
            return True
        if issubclass(kind, RuntimeError):
            args = BaseException.args.__get__(link)
            if args and type(args[0]) is str and _TORCH_NO_MEMORY.search(args[0]):
                return True
        cause = BaseException.__cause__.__get__(link)
        link = cause if cause is not None else BaseException.__context__.__get__(link)
    return False


def _student_traceback(e: BaseException, refusal: str | None = None) -> str:
    """The traceback of the student's own files' frames, written as the bundle's check writes
    it (tracebacks.py serves both: the sandbox imports nothing else of the grader's)."""
    return tracebacks.student_traceback(e, _STUDENT_FILES.__contains__, refusal)


if __name__ == "__main__":  # pragma: no cover - started by zygote.py
    import socket

    serve(socket.socket(fileno=int(os.environ.get("NINJA_FD", "3"))))
