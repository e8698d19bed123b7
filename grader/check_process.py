"""The check's process made like the grader's process for student code.

The grader runs each student file in a process of its own, in a sandbox; the public check
(local_check) runs it in-process, in the student's own Python. This module makes that process, while
student code runs, behave as the grader's does for it, so that the check's verdicts are the
grader's: torch with no compiler, no TorchScript and grad mode off for good (switching it on
refused, `inference_mode()` a no-op, torch.distributions' lazy parameters computed without switching
it on), no file written or locked, no program started, no socket, no thread started, a signal sent
to itself doing what it does there (and none sent to another process), what the grader's seccomp
filter denies failing as there (EPERM: `resource.getrusage`, a read that refuses to wait for the
disk, a pipe, a FIFO, a memfd, a mapping of huge pages, another process's scheduling, priority,
limits or CPU clock: KERNEL_REFUSED), an fcntl or ioctl command the grader refuses refused in its
words, `os.getloadavg` and reads of /proc failing as on the grader's empty /proc, a file outside
its folder, Python's installation and the system's libraries unreadable (EACCES, as Landlock
refuses it there: _READABLE), `os._exit` and `os.abort` ending the student's "process"
(`ProcessEnded`), exit functions never run, imports limited to what the grader has (torch's own
too), prints captured and cut to the grader's size on a stdout that may be closed, no stdin, no
debugger, and each import and call stopped at the grader's time limit (a timer, with a backstop
thread for a timer the student silenced). It also owns the check's own handling of Ctrl-C and
SIGTERM, which those signals' emulation must tell apart. `graders_conditions` is the entry point;
everything is put back after (a Jupyter kernel gets its own back). It ships to students: torch
and the standard library only.
"""

from __future__ import annotations

import _socket
import atexit
import bdb
import builtins
import contextlib
import dis
import errno
import importlib.machinery
import io
import itertools
import mmap
import operator
import os
import signal
import site
import sys
import sysconfig
import threading
import time
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

try:
    import resource
except ImportError:  # Windows has none
    resource = None  # type: ignore[assignment]

from .student_text import (
    AUTOGRAD_OFF,
    COMPILE_REFUSED,
    GRADER_PACKAGES,
    SCRIPT_REFUSED,
    WRITE_REFUSED,
    grader_has,
)

# The grader's limit (sandbox Limits) on the bytes of prints kept.
OUTPUT_BYTES = 16_000


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
        *_graders_engine(),
        *_graders_functorch(),
        *_graders_lookups(),
        *_graders_comparison(),
        *_graders_settings(),
        *_graders_lazy_properties(),
        (os, "_exit", _ending_process),
        (sys.modules[os.name], "_exit", _ending_process),  # posix._exit (nt's on Windows)
        *_graders_signals(),
        *_graders_threads(),
        *_graders_kernel(),
    ]


# autograd's engine, its type as torch made it (torch._C._EngineBase, which torch names
# _ImperativeEngine in torch._C and ImperativeEngine in torch.autograd.variable) and its own
# run_backward.
_ENGINE_TYPE = type(torch.autograd.Variable._execution_engine)
_ENGINE_RUN = _ENGINE_TYPE.run_backward


def _engine_type_dict(cls: type) -> Any:
    """The real dict of a type made in C (its `__dict__` is a read-only proxy onto it) and the
    function that tells Python's caches of attribute lookups that it changed, where this Python
    reaches both (CPython); else None."""
    try:
        import ctypes
        import gc

        found = [d for d in gc.get_referents(cls.__dict__) if type(d) is dict]
        modified = ctypes.pythonapi.PyType_Modified
    except (ImportError, AttributeError):
        return None
    if len(found) != 1 or found[0].get("run_backward") is not _ENGINE_RUN:
        return None
    return found[0], lambda: modified(ctypes.py_object(cls))


_ENGINE_DICT = _engine_type_dict(_ENGINE_TYPE)


def _refusing_run_backward(self: Any, *args: Any, **kwargs: Any) -> Any:
    """autograd's engine as the grader's sandbox has it for student code: its `run_backward`,
    behind `backward()` and `torch.autograd.grad`, refuses in the thread running student code
    and is torch's own elsewhere (the check's autograd reference). The static scan refuses a
    function that calls either before any call, but code at the top of a file runs first: there
    the grader's import ran into the ban (`forbidden`), where check.py's, grad mode being off,
    ran into torch's "element 0 of tensors does not require grad" (`ERROR`)."""
    if threading.get_ident() in _REFUSING:
        raise AutogradForbidden(f"run_backward: {AUTOGRAD_OFF}")
    return _ENGINE_RUN(self, *args, **kwargs)


@contextlib.contextmanager
def _engine_refusing() -> Iterator[None]:
    """`run_backward` refused on the engine's type itself, in its own dict, as the sandbox
    refuses it (inside/noautograd.py): so on every engine and every way to the type (an engine
    of the file's own, `type(engine).__base__`, `__mro__`), as there. Put back after: the
    check's process is the student's own Python (a Jupyter kernel's)."""
    if _ENGINE_DICT is None:
        yield  # no way to the type's dict: _RefusingEngine's names stand in for it
        return
    real, modified = _ENGINE_DICT
    before = real["run_backward"]
    real["run_backward"] = _refusing_run_backward
    modified()  # a lookup Python cached before must not find torch's own
    try:
        yield
    finally:
        real["run_backward"] = before
        modified()


class _RefusingEngine(_ENGINE_TYPE):  # type: ignore[misc, valid-type]
    """Where the engine's type cannot be changed (a Python that is not CPython): a subclass
    whose `run_backward` refuses, named in the type's stead while student code runs. A file
    making an engine of its own (`torch._C._ImperativeEngine().run_backward(...)`) is refused
    too; one reaching torch's type through the subclass's base is not, and gets ERROR where
    the grader says `forbidden` (check.py is advisory: the grader's sandbox refuses it)."""

    run_backward = _refusing_run_backward


def _graders_engine() -> list[tuple[Any, str, Any]]:
    """(owner, name, value) putting `_RefusingEngine` where torch's backward looks the engine
    up at every call (`Variable._execution_engine`, torch 2.0 to 2.14 alike), and in place of
    the engine's type wherever torch names it; nothing where `_engine_refusing` changes the
    type itself."""
    if _ENGINE_DICT is not None:
        return []
    holders = [torch._C, sys.modules.get("torch.autograd.variable")]
    return [
        (torch.autograd.Variable, "_execution_engine", _RefusingEngine()),
        *(
            (holder, name, _RefusingEngine)
            for holder in holders
            if holder is not None
            for name, value in _list(_vars(holder).items())
            if value is _ENGINE_TYPE or value is _RefusingEngine  # nested conditions: again
        ),
    ]


# torch.func's entries into autograd, which the grader's sandbox refuses (inside/noautograd.py,
# _FUNCTORCH_REFUSED), and the modules of torch that bound them at their import.
_FUNCTORCH_REFUSED = ("_grad_increment_nesting", "_jvp_increment_nesting", "_wrap_for_grad")
_FUNCTORCH_HOLDERS = (
    "torch._functorch.eager_transforms",
    "torch._functorch.autograd_function",
    "torch._functorch.predispatch",
)


def _graders_functorch() -> list[tuple[Any, str, Any]]:
    """torch.func's grad, jacrev, jvp... as the grader's sandbox has them: refused where they
    enter autograd, in torch._C._functorch and wherever torch bound a copy. check.py refused
    them later, at the grad switch, so its row named another refusal than the grader's."""
    module = getattr(torch._C, "_functorch", None)  # none before torch 2.0
    functorch = _vars(module) if module is not None else {}
    refusals = {
        _id(functorch[name]): _refused(functorch[name], f"torch.func ({name})")
        for name in _FUNCTORCH_REFUSED
        if name in functorch
    }
    holders = [module, *(sys.modules.get(n) for n in _FUNCTORCH_HOLDERS)]
    return [
        (holder, name, refusals[_id(value)])
        for holder in holders
        if holder is not None
        for name, value in _list(_vars(holder).items())
        if _id(value) in refusals
    ]


def _refused(original: Any, what: str) -> Any:
    """`original`, refused to the thread running student code in the grader's words (`what`
    names it: torch.func's transforms, torch._C's operator look-ups)."""

    def refusing(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() in _REFUSING:
            raise AutogradForbidden(f"{what}: {AUTOGRAD_OFF}")
        return original(*args, **kwargs)

    return refusing


# torch._C's look-ups of an operator by name, which the grader's sandbox refuses (inside/
# noautograd.py, among its _C_REFUSED): `torch.ops.aten.X` for an X torch had not looked up as it
# was imported, and a TorchDispatchMode handed an operator not looked up before.
_LOOKUPS_REFUSED = ("_jit_get_operation", "_get_operation_overload")


def _graders_lookups() -> list[tuple[Any, str, Any]]:
    """torch._C's operator look-ups as the grader's sandbox has them: refused to student code.
    torch caches what it has looked up (torch.ops), and the grader's process forks from one
    that looked up what torch's import does, as check.py's process did before student code
    ran (`_warm_up_lookups`): an operator both looked up is found in the cache, any other is
    refused in both. check.py passed `torch.ops.aten.kron.default(a, b)`, the grader forbade
    it."""
    return [
        (torch._C, name, _refused(getattr(torch._C, name), f"torch._C.{name}"))
        for name in _LOOKUPS_REFUSED
        if hasattr(torch._C, name)
    ]


def _graders_settings() -> list[tuple[Any, str, Any]]:
    """torch's process-wide settings as the grader's sandbox has them (its student_torch):
    `torch.use_deterministic_algorithms` sets torch's eager flag alone, where torch's own also
    imports its compiler's config, and with it torch._dynamo and sympy (check.py failed the
    file's import, naming sympy, where the grader passed it); `torch.set_num_interop_threads`
    checks its argument and changes nothing, where torch's own raises once any work has run."""
    set_flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_flag is None:
        return []

    def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
        set_flag(mode, warn_only=warn_only)

    def set_num_interop_threads(n: int) -> None:
        if not isinstance(n, int) or n < 1:
            raise RuntimeError("set_num_interop_threads expects a positive integer")

    return [
        (torch, "use_deterministic_algorithms", use_deterministic_algorithms),
        (torch, "set_num_interop_threads", set_num_interop_threads),
    ]


def _graders_comparison() -> list[tuple[Any, str, Any]]:
    """torch.testing.assert_close as the grader's sandbox has it (its student_torch): without
    its check for DTensors, whose import at the first call looks operators up, which the
    look-ups' refusal refuses (no DTensor can be made there)."""
    comparison = getattr(torch.testing, "_comparison", None)
    if not getattr(comparison, "_HAS_DTENSOR", False):
        return []
    return [(comparison, "_HAS_DTENSOR", False)]


_ASSERT_CLOSE, _ONES = torch.testing.assert_close, torch.ones  # the check's, not a file's
_WARMED: list[bool] = []


def _warm_up_lookups() -> None:
    """Look up what the grader's process looked up before student code: torch.func.vmap's
    decompositions and assert_close's operators, each loaded at its first use (the grader's
    zygote uses both before forking). Once, before student code first runs: a student's first
    assert_close here was refused, and passed in the grader."""
    if _WARMED:
        return
    _WARMED.append(True)
    with contextlib.suppress(ImportError, AttributeError):
        from torch._functorch import vmap

        vmap.lazy_load_decompositions()
    patched = [(owner, name, getattr(owner, name)) for owner, name, _ in _graders_comparison()]
    for owner, name, _ in patched:
        setattr(owner, name, False)
    try:
        _ASSERT_CLOSE(_ONES(2), _ONES(2))
    finally:
        for owner, name, value in patched:
            setattr(owner, name, value)


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


# What the grader's sandbox refuses student code that touches files or starts programs, by the
# names of Python's audit events, and every other event its audit hook refuses by name (file
# locks, sockets, extended attributes), in the same words (inside/noautograd.py's _DENIED):
# check.py let `socket.socket()`, `fcntl.flock` and `os.lockf` through, and passed a function
# the grader gave ERROR (tests/test_student_check.py checks the two sets stay one).
_CHANGES = frozenset(
    {"os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.chmod", "os.chown", "os.utime",
     "os.truncate", "os.symlink", "os.link", "os.system", "os.exec", "os.posix_spawn", "os.fork",
     "os.forkpty", "pty.spawn", "os.chflags", "os.setxattr", "os.removexattr", "os.lockf",
     "fcntl.flock", "fcntl.lockf", "socket.__new__", "socket.bind", "socket.connect",
     "socket.sendto"}
)  # fmt: skip
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# The fcntl and ioctl commands the grader lets student code give (inside/confine.py's
# FCNTL_COMMANDS and IOCTLS, which its audit hook and seccomp filter allow alone): a
# descriptor's own flags and state. Any other (fcntl's F_SETPIPE_SZ, F_SETOWN, a terminal's
# TCSETS) the grader refuses in these words, and check.py gave it to the kernel (tests/
# test_check_refusals.py checks the lists are the grader's).
FCNTL_COMMANDS = frozenset((0, 1, 2, 3, 4, 9, 11, 16, 1030, 1032, 1034))
IOCTLS = frozenset((0x5401, 0x5413, 0x541B, 0x5421, 0x5450, 0x5451))
_REFUSING: set[int] = set()  # the threads running student code under the grader's conditions
_guarded: list[bool] = []


def _refuse_changes(event: str, args: tuple) -> None:
    """The grader's refusals, for the thread running student code only: a Jupyter kernel's own
    threads, and everything after the check, write as before."""
    if threading.get_ident() not in _REFUSING:
        return
    if event in _CHANGES:
        raise PermissionError(f"{event} is not allowed in the grader")
    if event == "fcntl.fcntl" and args[1] not in FCNTL_COMMANDS:
        raise PermissionError(f"fcntl command {args[1]} is not allowed in the grader")
    if event == "fcntl.ioctl" and args[1] & 0xFFFFFFFF not in IOCTLS:
        raise PermissionError(f"ioctl {args[1]:#x} is not allowed in the grader")
    if event == "open" and _opens_for_writing(args):
        raise PermissionError(f"{WRITE_REFUSED} ({args[0]!r})")
    if event in _READS_PROC and _proc_path(args[0]) is not None:
        raise _as_on_empty_proc(args[0])
    if event == "open" and _out_of_reach(args[0]):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), args[0])
    if event in _LISTS and _unlisted(args[0]) and not _by_importlib():
        raise _unlisted_error(args[0])


# What the grader's process for student code may read (Landlock; sandbox/isolation.py's
# SYSTEM_DIRS and SYSTEM_FILES, tests/test_check_refusals.py keeps them the same): the system's
# libraries, the Python installation with torch and numpy, its own empty folder and /dev/null.
# Anything else it may not open (EACCES): check.py read `/content/names.txt` or a file in the
# student's home at import and passed a file the grader gave ERROR as a whole.
SYSTEM_DIRS = ("usr", "lib", "lib64", "lib32", "bin", "sbin")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/passwd")
_HOME: list[str] = []  # the working folder of the file whose code runs (graders_conditions)


def _readable_roots() -> tuple[str, ...]:
    """The folders and files student code may read in the grader, as found on this machine:
    the system's, and this Python's installation (its prefixes, its standard library and
    site-packages folders, the folders torch and numpy were imported from)."""
    roots = {os.path.join(os.sep, d) for d in SYSTEM_DIRS} | {*SYSTEM_FILES, os.devnull}
    roots |= {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots |= {p for p in sysconfig.get_paths().values() if p}
    with contextlib.suppress(Exception):  # a Python built without site's functions
        roots |= {*site.getsitepackages(), site.getusersitepackages()}
    for name in GRADER_PACKAGES:  # wherever this Python finds them (PYTHONPATH, --target)
        roots |= _package_folders(name)
    real = {os.path.realpath(r) for r in roots if isinstance(r, str) and r}
    return tuple(sorted(r for r in real if os.path.dirname(r) != r))  # never a whole drive


def _package_folders(name: str) -> set[str]:
    """The folders of package `name`, as imported or as an import would find it (its folder
    alone: the folder holding it may hold the student's files too)."""
    module = sys.modules.get(name)
    found = getattr(module, "__path__", None)
    if found is None:
        with contextlib.suppress(Exception):  # asks sys.path's finders; runs no package code
            spec = importlib.machinery.PathFinder.find_spec(name)
            found = spec.submodule_search_locations if spec is not None else None
    return {p for p in found or () if isinstance(p, str)}


_READABLE = _readable_roots()


def _out_of_reach(path: Any) -> bool:
    """Whether opening `path` (a name, not a descriptor) reads outside what the grader's
    process may read (_READABLE and the file's own folder)."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str | bytes):
        return False
    real = os.path.realpath(os.fsdecode(path))
    return not any(real == r or real.startswith(r + os.sep) for r in (*_READABLE, *_HOME))


# What the grader's process may list (Landlock's READ_DIR): the folders it may read (_READABLE),
# not its own folder, nor `/`, `..`, /tmp or /etc. check.py listed them all (`os.listdir('.')`,
# `os.walk('..')`, `glob.glob('/home/*')`) and passed a function the grader gave ERROR. A folder
# listed by the import system (importlib's finders, which take a refusal for an empty folder)
# is let through: which modules an import finds is the check's import emulation's to say.
_LISTS = frozenset({"os.listdir", "os.scandir"})


def _unlisted(path: Any) -> bool:
    """Whether listing `path` (None: the working folder; not a descriptor) is refused there."""
    if path is None:
        path = "."
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str | bytes):
        return False
    real = os.path.realpath(os.fsdecode(path))
    return not any(real == r or real.startswith(r + os.sep) for r in _READABLE)


def _unlisted_error(path: Any) -> PermissionError:
    """The refusal in Python's words there: the path as a name or bytes, none for no path."""
    denied = (errno.EACCES, os.strerror(errno.EACCES))
    return PermissionError(*denied) if path is None else PermissionError(*denied, os.fspath(path))


def _by_importlib() -> bool:
    """Whether the listing is the import system's own (the audit hook's caller's frame)."""
    try:
        caller = sys._getframe(2)  # 0: this, 1: the hook, 2: whoever called os.listdir
    except ValueError:  # called from no Python frame at all
        return False
    return caller.f_code.co_filename.startswith("<frozen importlib")


# The grader's process for student code has an empty /proc of its own, which it may not list
# (Landlock): what is in it is "no such file", /proc itself "permission denied". check.py read
# the machine's (/proc/meminfo, /proc/self/status) and passed a function the grader gave ERROR.
_READS_PROC = frozenset({"open", "os.listdir", "os.scandir"})


def _proc_path(path: Any) -> str | None:
    """`path` made absolute and plain, where it is /proc or lies in it; else None."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str | bytes):
        return None  # a descriptor open already, or the folder it runs in (None)
    plain = os.path.normpath(os.path.abspath(os.fsdecode(path)))
    return plain if plain == "/proc" or plain.startswith("/proc/") else None


def _as_on_empty_proc(path: Any) -> OSError:
    """What reading `path` in /proc raises in the grader's process."""
    if _proc_path(path) == "/proc":
        return PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)


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
    removing one, starting a program, a file lock, a socket. An audit hook cannot be removed:
    it is added once, and stays idle outside this block."""
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


def _stop(signum: int, frame: object) -> None:
    """The check's handler of Ctrl-C and SIGTERM (`stopping`)."""
    _STOPPED.append(signum)
    if len(_STOPPED) == 1 and not _CLEANING:  # once, and never cutting the clean-up short
        raise KeyboardInterrupt


@contextlib.contextmanager
def stopping() -> Iterator[None]:
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


def cleaning_up() -> None:
    """From here until `stopping` ends, Ctrl-C and SIGTERM are noted, never raised: the
    check's clean-up (its working folder removed) is not cut short."""
    _CLEANING.append(True)


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


# What the grader's seccomp filter refuses, called from Python, raises there what the kernel
# answers (EPERM), no words of the grader's. check.py let each through, and passed a function
# the grader gave ERROR (or, for a pipe, a FIFO or a memfd, made what the grader refuses to make).
# The table names each call by the system call the grader's filter denies (inside/confine.py's
# lists: tests/test_check_refusals.py checks every one is there), and says when: always, or when
# it names a process but the student's own (pid 0 or its own pid: scheduling, priorities and
# limits of another process, read or set), or with a flag the filter refuses. The flags'
# values are Linux's, the grader's platform, where Python lacks their names.
RWF_NOWAIT = getattr(os, "RWF_NOWAIT", 0x8)
MAP_HUGETLB = 0x40000
PRIO_PROCESS = getattr(os, "PRIO_PROCESS", 0)
# What os.getloadavg raises in the grader's process, which may read nothing of /proc.
LOAD_UNOBTAINABLE = "Load averages are unobtainable"


def _always(*args: Any, **kwargs: Any) -> bool:
    return True


def _int32(value: Any) -> bool:
    """An int Python passes on to the kernel as a pid or a clock id (one out of range is
    Python's OverflowError, before any system call, there as here)."""
    return _type(value) in (int, bool) and -(2**31) <= value < 2**31


def _other_process(pid: Any = 0, *args: Any, **kwargs: Any) -> bool:
    """Whether a call's first argument, a pid, names a process but the caller (0 or its pid)."""
    return _int32(pid) and pid not in (0, os.getpid())


def _other_priority(which: Any = PRIO_PROCESS, who: Any = 0, *args: Any, **kwargs: Any) -> bool:
    """Whether os.getpriority or os.setpriority names anything but the caller: a process group
    or a user's processes, or another process."""
    if not (_int32(which) and _int32(who)):
        return False
    return which != PRIO_PROCESS or who not in (0, os.getpid())


def _nowait(*args: Any, **kwargs: Any) -> bool:
    """Whether os.preadv's flags (its fourth argument, positional only) ask for RWF_NOWAIT."""
    return len(args) > 3 and isinstance(args[3], int) and bool(int(args[3]) & RWF_NOWAIT)


def _cpu_clock(pid: int, kind: int) -> int:
    """The id of `pid`'s CPU clock of `kind` (Linux's MAKE_PROCESS_CPUCLOCK), as 32 bits."""
    return ((~pid << 3) | kind) & 0xFFFFFFFF


# The kinds of a process's or a thread's CPU clock (CPUCLOCK_PROF, _VIRT, _SCHED, and each
# with CPUCLOCK_PERTHREAD_MASK): those of pid 0 and of the caller are its own.
_CPU_CLOCK_KINDS = (0, 1, 2, 4, 5, 6)


def _other_clock(clock: Any = 0, *args: Any, **kwargs: Any) -> bool:
    """Whether a clock id names another process's or thread's CPU clock (a negative id), or
    one behind a descriptor: the machine's clocks (ids from 0) and the caller's own CPU
    clocks are allowed."""
    if not _int32(clock) or clock >= 0:
        return False
    own = {_cpu_clock(pid, kind) for pid in (0, os.getpid()) for kind in _CPU_CLOCK_KINDS}
    return clock & 0xFFFFFFFF not in own


_SCHEDULING = ("setaffinity", "getaffinity", "setparam", "getparam", "setscheduler",
               "getscheduler", "rr_get_interval")  # fmt: skip
# (module, function, the system call the grader's filter denies, when)
KERNEL_REFUSED = (
    ("os", "pipe", "pipe2", _always),
    ("os", "pipe2", "pipe2", _always),
    ("_socket", "socketpair", "socketpair", _always),
    ("os", "mkfifo", "mknodat", _always),
    ("os", "mknod", "mknodat", _always),
    ("os", "memfd_create", "memfd_create", _always),
    ("resource", "getrusage", "getrusage", _always),
    ("os", "preadv", "preadv2", _nowait),
    *(("os", f"sched_{name}", f"sched_{name}", _other_process) for name in _SCHEDULING),
    ("os", "setpriority", "setpriority", _other_priority),
    ("os", "getpriority", "getpriority", _other_priority),
    ("resource", "prlimit", "prlimit64", _other_process),
    *(
        ("time", name, name.removesuffix("_ns"), _other_clock)
        for name in ("clock_gettime", "clock_gettime_ns", "clock_getres")
    ),
)


def _denied(name: str, real: Any, refused: Any = _always) -> Any:
    """`real` as the grader's process has it: where `refused(*args, **kwargs)`, it fails in
    the thread running student code as the kernel fails it there."""

    def as_there(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() in _REFUSING and refused(*args, **kwargs):
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
        return real(*args, **kwargs)

    as_there.__name__ = as_there.__qualname__ = name
    return as_there


def _no_load_average(getloadavg: Any) -> Any:
    """os.getloadavg as the grader's process has it: it reads /proc/loadavg, and the grader's
    process may read nothing of /proc (Python says so in these words, with no errno)."""

    def getloadavg_there() -> Any:
        if threading.get_ident() in _REFUSING:
            raise OSError(LOAD_UNOBTAINABLE)
        return getloadavg()

    return getloadavg_there


def _no_huge_pages(mmap_type: type) -> type:
    """mmap.mmap as the grader's process has it: a mapping of huge pages (MAP_HUGETLB in its
    flags, the third argument) is refused (EPERM), where here the kernel made it or answered
    ENOMEM. A subclass, so that `isinstance(m, mmap.mmap)` holds for a mapping made here."""

    class mmap(mmap_type):  # type: ignore[misc, valid-type]
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            flags = args[2] if len(args) > 2 else kwargs.get("flags", 0)
            if threading.get_ident() in _REFUSING and _int32(flags) and flags & MAP_HUGETLB:
                raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))
            return mmap_type.__new__(cls, *args, **kwargs)

    mmap.__module__ = mmap_type.__module__
    return mmap


def _graders_kernel() -> list[tuple[Any, str, Any]]:
    """(owner, name, refusing) for the calls of Python that the grader's seccomp filter denies
    (KERNEL_REFUSED; os's in posix too, the same functions), where this Python has them, and
    os.getloadavg and mmap.mmap as the grader's process has them."""
    # Imported with the check, not here: a student's file may have replaced __import__.
    modules = {"os": os, "_socket": _socket, "time": time, "resource": resource}
    patched = []
    for module, name, _, refused in KERNEL_REFUSED:
        owner = modules[module]
        if owner is None or not hasattr(owner, name):
            continue
        refusing = _denied(name, getattr(owner, name), refused)
        patched.append((owner, name, refusing))
        if owner is os and hasattr(sys.modules[os.name], name):
            patched.append((sys.modules[os.name], name, refusing))
    if hasattr(os, "getloadavg"):
        loads = _no_load_average(os.getloadavg)
        patched += [(owner, "getloadavg", loads) for owner in (os, sys.modules[os.name])]
    patched.append((mmap, "mmap", _no_huge_pages(mmap.mmap)))
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
        refused = type(name) is str and _from_student_file(globals, student_files)
        if level == 0 and refused and not grader_has(name):
            top = name.partition(".")[0]
            raise ModuleNotFoundError(f"No module named '{top}'", name=top)
        if level == 0 and type(name) is str and threading.get_ident() in _REFUSING:
            lacking = _loaded_before(name, fromlist)
            if lacking is not None:
                raise ModuleNotFoundError(f"No module named '{lacking}'", name=lacking)
        return real(name, globals, locals, fromlist, level)

    return imported


def _loaded_before(name: str, fromlist: Any) -> str | None:
    """The package the grader lacks that the import of `name` (and of the submodules in
    `fromlist`) needs, where this process had loaded them before and the grader's had not; else
    None. Loaded here, `import torch._dynamo` in a file passed after a notebook's earlier cell
    had run it: Python found it in sys.modules and asked no finder, while the grader's process
    runs it and meets its import of sympy, which it lacks. A module loaded before the check
    began (before a notebook's setup cell first ran) is taken for one the grader has."""
    names = [name[:i] for i, c in enumerate(name) if c == "."] + [name]
    if type(fromlist) in (list, tuple):
        names += [f"{name}.{f}" for f in fromlist if type(f) is str]
    for each in names:
        if each in sys.modules and each not in _graders_modules():
            lacking = _lacking(each)
            if lacking is not None:
                return lacking
    return None


_LACKING: dict[str, str | None] = {}  # by module name: the package it needs that the grader lacks


def _lacking(name: str) -> str | None:
    """A top-level package the grader lacks that module `name` reaches, through the modules
    (and the modules of the classes, functions and objects) its namespace holds, not through
    the modules the grader's process has loaded: what its import there would import and refuse.
    Not always the one that import meets first (with torch's CUDA build, triton where the grader
    names sympy): the verdict is the grader's, the package named one of those it lacks.
    Read by types alone, never through the student's own attribute reading."""
    if name in _LACKING:
        return _LACKING[name]
    loaded, seen, stack = _graders_modules(), set(), [name]
    found = None
    while stack and found is None:
        each = stack.pop()
        module = sys.modules.get(each)
        if each in seen or each in loaded or not _is_module(module):
            continue
        seen.add(each)
        top = each.partition(".")[0]
        if top not in _GradersFinder.promised:
            found = top
            break
        with _suppress(TypeError, AttributeError):  # a module whose namespace is no dict
            stack.extend(_referred_modules(module))
    _LACKING[name] = found
    return found


def _referred_modules(module: Any) -> list[str]:
    """The names of the modules `module`'s namespace holds or whose classes, functions and
    objects it holds (`from sympy import Symbol` holds sympy's class)."""
    names = []
    for value in _list(_dict(_vars(module)).values()):
        kind = _type(value)
        if _issubclass(kind, _MODULE):
            named = _dict(_vars(value)).get("__name__")
        elif kind is types.FunctionType:
            named = value.__module__  # the function's own slot: nothing of the student's runs
        else:
            owner = value if _issubclass(kind, type) else kind
            named = _dict(_vars(owner)).get("__module__")
        if _type(named) is str:
            names.append(named)
    return names


# The modules the grader's process has loaded before student code, as the check knows them: those
# loaded as it began (its own, torch and what torch loads: check.py is a fresh process), or as a
# notebook's setup cell first ran (KernelTorch: a kernel's cells may import more after).
_GRADERS_MODULES: list[frozenset[str]] = [frozenset(sys.modules)]


def _graders_modules() -> frozenset[str]:
    return _GRADERS_MODULES[0]


def _from_student_file(globals: Any, student_files: set[str]) -> bool:  # noqa: A002 - __import__'s
    """Whether an import runs in a student's file, read as the grader's process reads it
    (worker._from_student_file): a globals that is no plain dict, or a `__file__` that is no
    plain str, is not a student file's. `__import__("os", 1)` raised AttributeError here and
    imported os there."""
    if type(globals) is not dict:
        return False
    file = dict.get(globals, "__file__")
    return type(file) is str and file in student_files


# The grader's process refuses more than the student's files' own imports: any top-level
# package it has not loaded beyond the standard library, torch and numpy, whoever imports it
# (zygote.PromisedImports), since the sandbox leaves nothing else readable. torch's own lazy
# imports meet that too: `import torch._dynamo` imports sympy, which failed the file in the
# grader and passed here, where the student's Python has sympy (a dependency of torch).
class _GradersFinder:
    """An import finder, first on `sys.meta_path` while student code runs, that refuses a
    top-level package not yet loaded beyond the standard library, torch and numpy, as the
    grader's finder does (it is asked only for a name not in sys.modules). In the thread that
    runs student code only: a Jupyter kernel's own threads import what they need meanwhile."""

    promised = GRADER_PACKAGES | sys.stdlib_module_names

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        refused = path is None and name not in self.promised
        if refused and threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return None  # the usual finders find it, or not

    def invalidate_caches(self) -> None:
        pass


def _graders_exit(real: Any, student_files: set[str]) -> Any:
    """`atexit.register` as the grader's process has it for the student's files: it ends with
    os._exit, so their exit functions never run. check.py ran them after its table, outside the
    grader's conditions (a print after the table; an `os.kill(os.getpid(), 9)` that took the
    table with it). Registrations from anything else (a module the student imports) stand."""

    def register(func: Any, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_globals
        if threading.get_ident() in _REFUSING and _from_student_file(caller, student_files):
            return func
        return real(func, *args, **kwargs)

    return register


# A student's file may change torch for the whole process (`torch.Tensor.__sub__ = ...`,
# `torch.exp = ...`, at import or in a call). In the grader that change stays in the student's
# own process, where only that file's code meets it; here it reached the check's own reference
# computation (autograd's training run ended check.py in a traceback) and the next file's code.
# So each file's changes are kept aside while anything else runs, and made again for its code.
_ABSENT = object()  # where an attribute is not there
# What the comparison and the undoing use, as the check started: they run right after student
# code, which may have changed the builtins or operator (`builtins.all = lambda *a: True`,
# `builtins.setattr = ...`) to blind them, and they must see and undo that change too.
_all, _dict, _id, _isinstance, _issubclass, _len, _list, _map, _range, _type, _vars, _zip = (
    all, dict, id, isinstance, issubclass, len, list, map, range, type, vars, zip
)  # fmt: skip
_setattr, _delattr, _getattr, _suppress = setattr, delattr, getattr, contextlib.suppress
_MODULE = types.ModuleType
_is, _chain = operator.is_, itertools.chain.from_iterable


# torch's own setters and its function-mode stack as the check started: student code may
# replace them (`torch.set_default_dtype = None`) before they set its state aside.
_C = torch._C
_get_dtype, _set_dtype = torch.get_default_dtype, _C._set_default_dtype
_set_grad, _grad_on = _C._set_grad_enabled, torch.is_grad_enabled
_STACK = tuple(
    getattr(_C, name, None)
    for name in (
        "_len_torch_function_stack",
        "_get_function_stack_at",
        "_pop_torch_function_stack",
        "_push_on_torch_function_stack",
    )
)
_DEVICE_NOTE = getattr(torch, "_GLOBAL_DEVICE_CONTEXT", None)  # set_default_device's, per thread
_WARNINGS_CHANGED = (  # the name varies with the Python version
    getattr(warnings, "_filters_mutated", None)
    or getattr(warnings, "_filters_mutated_lock_held", None)
    or (lambda: None)
)


def _warnings_as(filters: Any, held: list | None) -> bool:
    """Whether the warnings filters are `filters` holding `held` still. Set back and marked
    changed when they were not changed, they made each module's record of the warnings it has
    shown stale: a warning the grader's process prints once for a file was in check.py's table
    once for each of its calls."""
    now = _getattr(warnings, "filters", None)
    if now is not filters or held is None or _type(now) is not list:
        return False
    return _len(now) == _len(held) and _all(_map(_is, now, held))


class TorchState:
    """torch's state for the whole process that is no attribute: the default dtype, and the
    modes on torch's function-mode stack (`torch.set_default_device("meta")` puts one at its
    bottom and notes it in `torch._GLOBAL_DEVICE_CONTEXT` and torch.utils._device's
    CURRENT_DEVICE; `SomeTorchFunctionMode().__enter__()` at import leaves one there). A file
    that set one at import kept it for the rest of check.py, as TorchChanges cannot see it: the
    next files' factories made float64 tensors, their sums went through the student's mode, and
    the check's own training run met the meta device and ended in a traceback, where the grader
    ran each file in a process of its own. The warnings filters too, which torch's warnings
    meet: exercise1's `warnings.filterwarnings("ignore")` hid exercise 3's warning from
    check.py's table, and `warnings.simplefilter("error")` failed exercise 3's import."""

    def __init__(self) -> None:
        self.dtype = _get_dtype()
        count, at = _STACK[0], _STACK[1]
        self.modes = [at(i) for i in _range(count())] if count and at else []
        self.device_context = _getattr(_DEVICE_NOTE, "device_context", _ABSENT)
        device_module = sys.modules.get("torch.utils._device")
        self.current_device = _getattr(device_module, "CURRENT_DEVICE", None)
        filters = _getattr(warnings, "filters", None)  # the list, and what it holds
        self.warning_filters = filters, _list(filters) if _type(filters) is list else None

    def restore(self) -> None:
        """Make this state torch's again."""
        _set_dtype(self.dtype)  # it sets torch.Storage back too
        count, _at, pop, push = _STACK
        if count and pop and push:
            for _ in _range(count()):
                pop()
            for mode in self.modes:
                push(mode)
        if _DEVICE_NOTE is not None:
            _put(_DEVICE_NOTE, "device_context", self.device_context)
        device_module = sys.modules.get("torch.utils._device")
        if device_module is not None:
            _put(device_module, "CURRENT_DEVICE", self.current_device)
        filters, held = self.warning_filters
        if _warnings_as(filters, held):
            return  # the caches of warnings shown once stand (one warning a call, else)
        _setattr(warnings, "filters", filters)
        if held is not None:
            filters[:] = held
        _WARNINGS_CHANGED()  # as warnings.catch_warnings does: its cache is stale

    def apart_from(self, other: TorchState) -> list[str]:
        """What differs from `other`, as a student would name it (for a notebook's note)."""
        names = []
        if self.dtype != other.dtype:
            names.append(f"the default dtype ({str(self.dtype).removeprefix('torch.')})")
        theirs = [_id(m) for m in other.modes]
        for mode in self.modes:
            if _id(mode) in theirs:
                continue
            device = _getattr(mode, "device", None)
            kind = _type(mode).__name__
            if kind == "DeviceContext" and device is not None:
                names.append(f"the default device ({device})")
            else:
                names.append(f"a torch function mode left entered ({kind})")
        return names


class TorchChanges:
    """What one student file changed in torch (or the builtins): for each owner (one of
    torch's modules, torch.Tensor, builtins), by id, the attributes it set or deleted, by
    name (`_ABSENT`: deleted); and its TorchState (None: as the check's)."""

    def __init__(self) -> None:
        self.made: dict[int, tuple[Any, dict[str, Any]]] = {}
        self.state: TorchState | None = None
        # What it put in sys.modules by hand, by name (`_ABSENT`: an entry it deleted).
        self.modules: dict[str, Any] = {}

    def put_back(self) -> None:
        """The file's changes made again: its code meets torch as it left it (its state last:
        the default dtype sets torch.Storage to match)."""
        for owner, attributes in self.made.values():
            for name, value in attributes.items():
                _put(owner, name, value)
        _put_modules(self.modules)
        if self.state is not None:
            self.state.restore()

    def take_modules(self, before: dict[str, Any], own: tuple[str, ...]) -> None:
        """Note the entries of sys.modules the code just run put there by hand since `before`
        (`sys.modules["math"] = None`, a module taken out, an entry that is no module) and
        undo them: in the grader they stay in that file's own process, and here they reached
        the next file (`import math` failed there) and the check. A module imported is no such
        change; `own`, the assignment's files, are the check's to place (_hide_other_files)."""
        now = sys.modules
        same = _len(now) == _len(before) and _all(_map(_is, now.values(), before.values()))
        if same and _list(now) == _list(before):  # one pass in C, at every call
            self.modules = {}
            return
        changed = {n: v for n, v in _list(now.items()) if before.get(n, _ABSENT) is not v}
        changed = {n: v for n, v in changed.items() if n in before or not _is_module(v)}
        changed.update((n, _ABSENT) for n in before if n not in now)
        for name in own:
            changed.pop(name, None)
        _put_modules({n: before.get(n, _ABSENT) for n in changed})
        self.modules = changed  # those made again before it ran, and not undone since, too

    def take_state(self, found: TorchState) -> None:
        """Note torch's state as the code just run left it, and make `found` (the check's)
        torch's again; before `take_back`, which then sees torch.Storage as it was."""
        self.state = TorchState()
        found.restore()

    def take_back(self, copy: TorchCopy) -> None:
        """Note what the code just run changed since `copy` (torch as the check has it) and
        undo it: torch is the check's again."""
        if copy.holds():
            self.made.clear()
            return
        _COPY.clear()  # a name deleted and set again moved in its dict: copied again next time
        for owner, seen in _zip(copy.owners, copy.dicts, strict=True):
            now = _dict(_vars(owner))
            changed = {n: v for n, v in now.items() if seen.get(n, _ABSENT) is not v}
            changed.update((n, _ABSENT) for n in seen if n not in now)
            for name in [n for n, v in changed.items() if _torch_own(owner, n, v, seen)]:
                del changed[name]
            for name in changed:
                _put(owner, name, seen.get(name, _ABSENT))
            if changed:
                self.made[_id(owner)] = (owner, changed)
            else:
                self.made.pop(_id(owner), None)


class TorchCopy:
    """The attributes of torch's modules imported so far, of torch.Tensor (the class of every
    tensor: `__sub__` and the like) and of the builtins (`builtins.range = ...` in exercise2.py
    failed exercise1's `dlogprobs[range(n), Yb]` in check.py) at one moment, also in one row,
    which tells in one quick pass whether any changed since (the same objects in the same
    order; a name deleted and set again reads as changed, and is then compared one by one)."""

    def __init__(self) -> None:
        self.modules = _len(sys.modules)
        self.owners = [
            m
            for n, m in _list(sys.modules.items())
            if (n == "torch" or n.startswith("torch.")) and _is_module(m)
        ] + [torch.Tensor, builtins]
        self.dicts = [_dict(_vars(owner)) for owner in self.owners]
        self.sizes = [_len(d) for d in self.dicts]
        self.row = tuple(_chain(d.values() for d in self.dicts))

    def holds(self) -> bool:
        """Whether torch's attributes are still those copied (one pass in C: a copy of them all
        at every call cost the check a third of its time)."""
        now = _list(_map(_vars, self.owners))
        if _list(_map(_len, now)) != self.sizes:
            return False
        values = _chain(_map(_VALUES, now))
        return _all(_map(_is, values, self.row))


_VALUES = operator.methodcaller("values")
_COPY: list[TorchCopy] = []  # the last copy, taken again when torch changed or grew


def _torch_now() -> TorchCopy:
    """A copy of torch's attributes as they are now: the last one, unless torch grew since (a
    module imported) or student code changed it (`take_back`). The check's own code changes
    none of torch's attributes between two runs of student code, and a check of them all at
    each run too cost the check a tenth of its time."""
    if not _COPY or _COPY[0].modules != _len(sys.modules):
        _COPY[:] = [TorchCopy()]
    return _COPY[0]


def forget_torch() -> None:
    """Copy torch afresh at the next run of student code: a Jupyter kernel's own cells may
    have changed it since the last check, and that change is the kernel's, not a file's."""
    _COPY.clear()


class KernelTorch:
    """torch as a notebook's kernel had it when the assignment's setup cell first ran, for the
    check cells. A cell's top-level `torch.exp = ...` or `torch.Tensor.__sub__ = ...` (or
    `torch.set_default_dtype(torch.float64)`, `torch.set_default_device(...)`,
    `torch.set_grad_enabled(False)`) stays in the kernel, and the grader, which keeps only
    definitions, imports and constants of a cell, never runs it: the check cell then met the
    change in its own reference computation (a traceback instead of the table) and in the
    student's functions (a verdict the grader does not give). `as_found` sets it aside."""

    def __init__(self, earlier: KernelTorch | None = None) -> None:
        """`earlier`: the one a previous run of the setup cell made, whose torch (before any
        exercise cell ran) is kept; its methods are those of the modules that run imported,
        which this run replaced, and whose cache of torch (`forget_torch`) is not the check's."""
        if earlier is not None:
            self.copy, self.state, self.grad = earlier.copy, earlier.state, earlier.grad
            self.modules = earlier.modules
        else:
            self.copy, self.state, self.grad = TorchCopy(), TorchState(), _grad_on()
            self.modules = frozenset(sys.modules)

    @contextlib.contextmanager
    def as_found(self) -> Iterator[list[str]]:
        """torch, its state and grad mode as the setup cell found them while the check runs,
        the kernel's own put back after; yields what was set aside (`torch.Tensor.__sub__`),
        for the student's note. Grad mode is not named: the grader runs student code with it
        off whatever a cell did, and the check's own autograd reference needs it on."""
        grad = _grad_on()
        kernel = TorchChanges()
        kernel.take_state(self.state)  # first: the default dtype sets torch.Storage back too
        kernel.take_back(self.copy)
        forget_torch()
        _set_grad(self.grad)
        # The modules as the setup cell first found them: a module a later cell loaded (`import
        # torch._dynamo`) is one the grader's process would load, and may lack what it needs.
        _GRADERS_MODULES[:] = [self.modules]
        _LACKING.clear()
        try:
            yield sorted(_set_aside(kernel, self.copy)) + kernel.state.apart_from(self.state)
        finally:
            kernel.put_back()
            _set_grad(grad)
            forget_torch()


def _set_aside(kernel: TorchChanges, copy: TorchCopy) -> list[str]:
    """The names of what a kernel's cells changed, as a student wrote them. An equal bound
    method is no change: IPython puts its own `get_ipython` in the builtins afresh each cell."""
    names = []
    for owner, attributes in kernel.made.values():
        seen = copy.dicts[copy.owners.index(owner)]
        where = "torch.Tensor" if owner is torch.Tensor else owner.__name__
        for name, value in attributes.items():
            before = seen.get(name, _ABSENT)
            if _type(value) is types.MethodType and value == before:  # no `__class__` read
                continue
            names.append(f"{where}.{name}")
    return names


def _torch_own(owner: Any, name: str, value: Any, seen: dict) -> bool:
    """A change torch makes itself, not the student: a submodule imported on the way (its lazy
    imports), a warning's registry in the module that warned, a global the module's own code
    assigns (torch.vmap's first call loads its decompositions once and says so in a global:
    undone, the next file's vmap loaded them again and printed torch's warning that they were
    overridden, which the grader's process of that file never prints), Python's own caches
    (copyreg's `__slotnames__`, put in torch.Tensor by the first pickle of a tensor), and a
    function torch's own code wraps (torch._dynamo, imported by torch.optim's first step,
    wraps torch.manual_seed): a notebook's note named them as the student's changes."""
    if name in _PYTHONS_CACHES or (name not in seen and _is_module(value)):
        return True
    if _torch_wrapped(value, seen.get(name, _ABSENT)):
        return True
    return _is_module(owner) and name in _own_globals(owner)


_PYTHONS_CACHES = frozenset({"__warningregistry__", "__slotnames__"})
_TORCH_FOLDER = os.path.dirname(torch.__file__) + os.sep


def _torch_wrapped(value: Any, before: Any) -> bool:
    """Whether `value` is a wrapper written in torch's own files around `before`. Only a plain
    function is read, and only its own dict: reading any attribute of a student's object runs
    its `__getattr__`, outside the grader's conditions (one that raised ended check.py)."""
    if _type(value) is not types.FunctionType or before is _ABSENT:
        return False
    if _vars(value).get("__wrapped__", _ABSENT) is not before:
        return False
    return value.__code__.co_filename.startswith(_TORCH_FOLDER)


_OWN_GLOBALS: dict[int, frozenset[str]] = {}  # by id of a torch module: the globals it assigns
_ASSIGNING = frozenset({"STORE_GLOBAL", "DELETE_GLOBAL"})


def _own_globals(module: Any) -> frozenset[str]:
    """The names a module's own functions assign with `global` (its lazy state), once a module:
    its code does not change."""
    known = _OWN_GLOBALS.get(_id(module))
    if known is None:
        namespace = _vars(module)
        codes = [f.__code__ for f in _defined_in(namespace)]
        names: set[str] = set()
        while codes:
            code = codes.pop()
            codes.extend(c for c in code.co_consts if _isinstance(c, types.CodeType))
            names.update(i.argval for i in dis.get_instructions(code) if i.opname in _ASSIGNING)
        known = _OWN_GLOBALS[_id(module)] = frozenset(names)
    return known


def _defined_in(namespace: dict) -> list[types.FunctionType]:
    """The functions whose globals are `namespace`: the module's own, and its classes' methods.
    Read by their types alone: a student's object assigned into torch (`torch.manual_seed =
    Odd()`) runs its `__getattr__` on any other reading, here outside the grader's conditions
    (one that raised ended check.py in a traceback)."""
    found = []
    for value in _list(namespace.values()):
        inner = _list(_vars(value).values()) if _issubclass(_type(value), type) else [value]
        for f in inner:
            if _type(f) in (staticmethod, classmethod):
                f = f.__func__
            if _type(f) is types.FunctionType and f.__globals__ is namespace:
                found.append(f)
    return found


def _is_module(value: Any) -> bool:
    return _issubclass(_type(value), _MODULE)  # no `__class__` of the student's is read


def _put_modules(entries: dict[str, Any]) -> None:
    """Set these entries of sys.modules (`_ABSENT`: take it out)."""
    for name, value in entries.items():
        if value is _ABSENT:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = value


def _put(owner: Any, name: str, value: Any) -> None:
    with _suppress(AttributeError, TypeError):
        if value is _ABSENT:
            _delattr(owner, name)
        else:
            _setattr(owner, name, value)


@contextlib.contextmanager
def students_torch(changes: TorchChanges, own: tuple[str, ...] = ()) -> Iterator[None]:
    """torch as the student's file left it while its code runs (`changes` made again), and as
    the check has it the moment it stops (what the code changed noted in `changes`, undone).
    Entered before the grader's own changes to torch (_graders_torch), which are left after."""
    before, found, modules = _torch_now(), TorchState(), _dict(sys.modules)
    changes.put_back()
    try:
        yield
    finally:
        changes.take_modules(modules, own)
        changes.take_state(found)
        changes.take_back(before)


@contextlib.contextmanager
def graders_conditions(
    folder: Path,
    printed: io.StringIO,
    sources: Path | None = None,
    files: tuple[str, ...] = (),
    away: tuple[Path, ...] = (),
    torch_changes: TorchChanges | None = None,
):
    """Run inside `folder`, with no stdin, no debugger, torch as the grader's sandbox has it
    (_graders_torch) with the changes the student's file made to it (`torch_changes`: one
    file's, kept from its import to its calls; none kept when not given), no file written,
    prints captured and none of the student's other files importable (`sources`: the folder
    they came from; `files`: the assignment's module names; `away`: the bundle's own folder,
    which holds the stubs); restore after (check.main() may run in a Jupyter kernel, which
    must get its own back)."""
    changes = torch_changes if torch_changes is not None else TorchChanges()
    _warm_up_lookups()  # before the file's changes to torch are made again
    with students_torch(changes, files), _graders_process(folder, printed, sources, files, away):
        yield


@contextlib.contextmanager
def _graders_process(
    folder: Path,
    printed: io.StringIO,
    sources: Path | None,
    files: tuple[str, ...],
    away: tuple[Path, ...],
):
    """`graders_conditions` but for torch's changes: those of the grader's process."""
    saved = os.getcwd(), sys.stdin, sys.breakpointhook, sys.path[:], sys.meta_path[:]
    _BACKSTOP.start()  # before student code, which may start no thread
    mask = _signal_mask()
    patched = [(owner, name, getattr(owner, name)) for owner, name, _ in _graders_torch()]
    hidden = _hide_other_files(folder, sources, files, away)
    os.chdir(folder)
    _HOME[:] = [os.path.realpath(folder)]
    sys.stdin, sys.breakpointhook = io.StringIO(""), _no_debugger
    for owner, name, theirs in _graders_torch():
        setattr(owner, name, theirs)
    real_import, real_register = builtins.__import__, atexit.register
    student_files = {f"{name}.py" for name in files}
    builtins.__import__ = _graders_imports(real_import, student_files)
    atexit.register = _graders_exit(real_register, student_files)
    sysconfig.get_config_vars()  # a standard module named by platform, as the zygote loads it
    sys.meta_path.insert(0, _GradersFinder())
    try:
        with (
            _engine_refusing(),
            _printing_into(printed),
            _no_changes(),
        ):
            yield
    finally:
        builtins.__import__, atexit.register = real_import, real_register
        _signal_mask(mask)  # student code may have blocked the timer's signal (pthread_sigmask)
        _HOME.clear()
        os.chdir(saved[0])
        sys.stdin, sys.breakpointhook = saved[1], saved[2]
        for owner, name, original in patched:
            _setattr(owner, name, original)  # the real one: student code may change the builtins
        sys.path[:], sys.meta_path[:] = saved[3], saved[4]
        sys.modules.update(hidden)


@contextlib.contextmanager
def _printing_into(printed: io.StringIO) -> Iterator[None]:
    """sys.stdout and sys.stderr sent to `printed`, and put back by assignment: contextlib's
    redirection puts them back with the builtin `setattr`, which student code may have changed
    (`builtins.setattr = lambda *a: None` left check.py's table in the capture: it printed
    nothing and exited 0). Descriptors 1 and 2 go there too (_Descriptors)."""
    saved = sys.stdout, sys.stderr
    written = _Descriptors()
    sys.stdout = sys.stderr = printed
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
        written.put_back(printed)


# The process's descriptors 1 and 2, as this module found them: student code may change `os`.
_PIPE, _DUP, _DUP2, _READ, _CLOSE = os.pipe, os.dup, os.dup2, os.read, os.close
_READER_WAIT = 2.0  # seconds for the pipe's last bytes once its writers are closed


class _Descriptors:
    """What student code writes past sys.stdout and sys.stderr, to descriptors 1 and 2 (`os.write(
    2, ...)`, `print(..., file=sys.__stdout__)`), kept for `printed` as the grader's process
    hands them to the grader with its prints. check.py let them through to the terminal, above
    its table and uncut (a 40 MB flood), and its table missed them. While student code runs,
    both descriptors are a pipe whose first OUTPUT_BYTES a thread of the check's keeps (the rest
    counted, never stored: nothing fills a disk); a descriptor this process lacks (pythonw) is
    left as it is."""

    def __init__(self) -> None:
        self.kept = bytearray()
        self.dropped = 0
        self.saved: list[tuple[int, int]] = []
        self.reader: threading.Thread | None = None
        _flush_standard_streams()  # what the check itself wrote goes where it was going
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                self.saved.append((fd, _above_standard(_DUP(fd))))
        if not self.saved:
            return
        read_end, write_end = (_above_standard(fd) for fd in _PIPE())
        self.pipe = _identity(write_end)
        self.reader = threading.Thread(
            target=self._keep, args=(read_end,), name="check-output", daemon=True
        )
        self.reader.start()
        for fd, _ in self.saved:
            _DUP2(write_end, fd)
        _CLOSE(write_end)

    def _keep(self, read_end: int) -> None:
        try:
            while data := _READ(read_end, 1 << 16):
                room = max(OUTPUT_BYTES - len(self.kept), 0)
                self.kept += data[:room]
                self.dropped += max(len(data) - room, 0)
        except OSError:
            pass
        finally:
            _CLOSE(read_end)

    def put_back(self, printed: io.StringIO) -> None:
        """The descriptors as they were (whatever student code closed or moved), and what was
        written to them added to `printed`, cut as the grader cuts it."""
        if self.reader is None:
            return
        _flush_standard_streams()  # sys.__stdout__'s buffer, written while it was the pipe
        # A descriptor student code closed or replaced stays so, as in the grader's process,
        # where it stays so for the file's later calls (`os.close(1)` twice: EBADF).
        for fd, copy in self.saved:
            with contextlib.suppress(OSError):  # a copy student code closed (os.closerange)
                if _identity(fd) == self.pipe:
                    _DUP2(copy, fd)
                _CLOSE(copy)
        # The last writer closed, the thread reads to the end; a copy student code made of
        # either descriptor (os.dup(1)) and kept open holds the pipe open: what came is kept.
        self.reader.join(_READER_WAIT)
        if self.kept or self.dropped:
            text = bytes(self.kept).decode("utf-8", "replace")
            with contextlib.suppress(ValueError):  # `printed` closed by student code
                printed.write(text)
            if isinstance(printed, CappedOutput):
                printed.dropped += self.dropped


def _identity(fd: int) -> tuple[int, int] | None:
    """Which open file descriptor `fd` is (device, inode); None where it is closed."""
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _above_standard(fd: int) -> int:
    """`fd`, moved above 0, 1 and 2 where it took one student code had closed: there, the
    student's `os.close(1)` would close the check's own descriptor, where the grader's fails."""
    low = []
    while fd <= 2:
        low.append(fd)
        fd = _DUP(fd)
    for each in low:
        _CLOSE(each)
    return fd


def _flush_standard_streams() -> None:
    for stream in (sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):  # None (pythonw), closed, or not a file
            stream.flush()


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
